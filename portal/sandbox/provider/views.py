"""Sandbox OAuth provider (django-oauth-toolkit): console, its own sign-in, and the DOT endpoints.

The portal's own sign-in is Django auth in the same browser session, so the provider keeps *its*
signed-in person apart: only the provider account's pk, under ``SESSION_KEY``. The authorize view
swaps ``request.user`` for that account for the length of the request; nothing else of the portal
session is read or changed.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from oauth2_provider import models as dot_models
from oauth2_provider import views as dot_views
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings

from portal.accounts.models import User
from portal.lib.events import security_event
from portal.lib.logging import register_secret
from portal.sandbox.provider import keys, lifetimes, seed
from portal.sandbox.provider.forms import ProviderLoginForm, RedirectUriForm, RefreshLifetimeForm
from portal.sandbox.provider.validators import SandboxOAuth2Validator

SESSION_KEY = "sandbox_provider_account"


def signed_in_account(request: HttpRequest) -> User | None:
    """The provider account signed in to the sandbox provider in this session, if any."""
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    return User.objects.filter(pk=pk, is_sandbox_provider_account=True, is_active=True).first()


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else default


@method_decorator(login_not_required, name="dispatch")  # dispatch is overridden: say it again
class AuthorizeView(dot_views.AuthorizationView):  # type: ignore[misc]  # DOT ships no type hints
    """DOT's consent page with the provider's own person as ``request.user``.

    DOT's LoginRequiredMixin then sends an anonymous visitor to the provider's login page with
    ``next`` set to this authorize URL (and handles ``prompt=none``/``prompt=login``).
    """

    validator_class = SandboxOAuth2Validator

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The portal person (if any) stays available to the page header, never to DOT.
        self.portal_user = request.user
        request.user = signed_in_account(request) or AnonymousUser()
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        return response

    def get_login_url(self) -> str:
        return reverse("sandbox_provider:login")

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        # Consent and error pages alike. ``user`` (the auth context processor's name) stays the
        # portal's person, so a portal header can never show the provider account as signed in.
        context = {**context, "provider_account": self.request.user, "user": self.portal_user}
        error = context.get("error")
        description = (
            error.get("description", "") if isinstance(error, dict) else getattr(error, "description", "")
        )
        if error is not None and "redirect" in str(description or "").lower():
            # The fix, on this page: the address to register, where, and a retry of this request.
            context["unregistered_redirect_uri"] = self.request.GET.get("redirect_uri", "")
            context["console_url"] = reverse("sandbox_provider:console")
            context["retry_url"] = self.request.get_full_path()
        response: HttpResponse = super().render_to_response(context, **kwargs)
        return response


class TokenView(dot_views.TokenView):  # type: ignore[misc]
    """DOT's token endpoint with the sandbox validator.

    DOT already marks it (and RevokeTokenView) csrf_exempt and login_not_required; not overriding
    ``dispatch`` keeps both.
    """

    validator_class = SandboxOAuth2Validator


class RevokeTokenView(dot_views.RevokeTokenView):  # type: ignore[misc]
    """DOT's revocation endpoint (RFC 7009) with the sandbox validator."""

    validator_class = SandboxOAuth2Validator


class UserInfoView(dot_views.UserInfoView):  # type: ignore[misc]
    """DOT's OpenID Connect userinfo endpoint with the sandbox validator (the discovery document
    must name one)."""

    validator_class = SandboxOAuth2Validator


# DOT's discovery view names its endpoints by DOT's URL names; the sandbox's own are these.
_ENDPOINT_NAMES = {
    "authorize": "sandbox_provider:authorize",
    "token": "sandbox_provider:token",
    "user-info": "sandbox_provider:userinfo",
    "jwks-info": "sandbox_provider:jwks",
    "revoke-token": "sandbox_provider:revoke",
}


class DiscoveryView(dot_views.ConnectDiscoveryInfoView):  # type: ignore[misc]
    """DOT's OpenID Provider Metadata at ``<issuer>/.well-known/openid-configuration``.

    Endpoints are the sandbox's URLs on the issuer's origin (as DOT does with OIDC_ISS_ENDPOINT); the
    signing algorithm and claims are what the sandbox validator really issues (DOT reads both from
    settings, where the sandbox keeps no key)."""

    def _get_endpoint_url(self, request: HttpRequest, view_name: str, required: bool = False) -> str | None:
        name = _ENDPOINT_NAMES.get(view_name)
        if name is None:
            return None
        parts = urlsplit(oauth2_settings.OIDC_ISS_ENDPOINT)
        return f"{parts.scheme}://{parts.netloc}{reverse(name)}"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["id_token_signing_alg_values_supported"] = ["RS256"]
        data["claims_supported"] = [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "name",
            "preferred_username",
        ]
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        response.content = json.dumps(data).encode()
        return response


class JwksView(dot_views.JwksInfoView):  # type: ignore[misc]
    """DOT's JWKS endpoint, publishing the public half of the stored key (DOT's reads settings)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)  # headers (cache, CORS)
        response.content = json.dumps(keys.public_jwks()).encode()
        return response


def _cycle_key_keeping_portal_flows(request: HttpRequest) -> None:
    """Cycle the session key, and move this browser's pending portal OAuth flows to the new key.

    The portal binds each pending flow to the hash of the session key (SECURITY.md item 1). In the
    sandbox the provider shares the portal's origin and session cookie, so without this the
    provider sign-in in the middle of a flow would make the portal refuse its own callback
    ("started in another browser"). Only flows bound to the key this request presented move.
    """
    from portal.oauth import flows

    old_key = request.session.session_key
    request.session.cycle_key()
    new_key = request.session.session_key
    if old_key and new_key:
        flows.rebind_session(old_key, new_key)


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, reverse("sandbox_provider:console"))
    form = ProviderLoginForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid() and form.account is not None:
            _cycle_key_keeping_portal_flows(request)  # new session id on a new sign-in (fixation)
            request.session[SESSION_KEY] = form.account.pk
            return HttpResponseRedirect(next_url, status=303)
        security_event("sandbox_provider_login_failed", request)
    context = {"form": form, "next": next_url, "provider_account": signed_in_account(request)}
    return render(request, "sandbox/provider_login.html", context, status=400 if form.errors else 200)


@login_not_required
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Sign out of the sandbox provider only; the portal sign-in is left as it is."""
    request.session.pop(SESSION_KEY, None)
    return HttpResponseRedirect(_safe_next(request, reverse("sandbox_provider:login")), status=303)


@login_not_required
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest) -> HttpResponse:
    """The sandbox's stand-in for a provider's developer console (like Google Cloud Console).

    Showing the client secret is intended: it is the sandbox's fixed demo secret, shown so an admin
    can copy it into the portal exactly as from a real console (docs/decisions.md).
    """
    form = RedirectUriForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        uri = form.cleaned_data["redirect_uri"]
        already = uri in seed.registered_redirect_uris()
        seed.seed_application([uri])
        if already:
            messages.info(request, _("%(uri)s was already registered.") % {"uri": uri})
        else:
            messages.success(request, _("Registered %(uri)s.") % {"uri": uri})
        return HttpResponseRedirect(reverse("sandbox_provider:console"), status=303)

    return _console_page(request, form)


@login_not_required
@require_POST
def refresh_lifetime(request: HttpRequest) -> HttpResponse:
    """The console's "Refresh tokens expire after": for consents from now on (README.md, "See a
    lapse coming")."""
    lifetime_form = RefreshLifetimeForm(request.POST)
    if not lifetime_form.is_valid():
        return _console_page(request, RedirectUriForm(), lifetime_form=lifetime_form)
    seconds = lifetime_form.seconds()
    lifetimes.set_lifetime(settings.SANDBOX_PROVIDER_CLIENT_ID, seconds)
    if seconds is None:
        messages.success(request, _("Refresh tokens from new consents never expire."))
    else:
        minutes = seconds // 60
        text = ngettext(
            "Refresh tokens from new consents expire %(minutes)d minute after the consent.",
            "Refresh tokens from new consents expire %(minutes)d minutes after the consent.",
            minutes,
        )
        messages.success(request, text % {"minutes": minutes})
    return HttpResponseRedirect(reverse("sandbox_provider:console") + "#refresh-lifetime-heading", status=303)


def _console_page(
    request: HttpRequest,
    form: RedirectUriForm,
    new_secret: str = "",
    lifetime_form: RefreshLifetimeForm | None = None,
) -> HttpResponse:
    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    context = {
        "form": form,
        "authorize_uri": absolute("sandbox_provider:authorize"),
        "token_uri": absolute("sandbox_provider:token"),
        "revoke_uri": absolute("sandbox_provider:revoke"),
        "client_id": settings.SANDBOX_PROVIDER_CLIENT_ID,
        "client_secret": settings.SANDBOX_PROVIDER_CLIENT_SECRET,
        "demo_secret_works": seed.demo_secret_works(),
        "new_secret": new_secret,
        "scopes": get_scopes_backend().get_all_scopes().items(),
        "accounts": seed.ACCOUNTS,
        "discovery_uri": absolute("sandbox_provider:oidc-discovery"),
        "jwks_uri": absolute("sandbox_provider:jwks"),
        "issuer": oauth2_settings.OIDC_ISS_ENDPOINT,
        "lifetime_form": lifetime_form
        or RefreshLifetimeForm.for_seconds(lifetimes.lifetime(settings.SANDBOX_PROVIDER_CLIENT_ID)),
        "redirect_uris": seed.registered_redirect_uris(),
        "callback_example": settings.PORTAL_BASE_URL + "/oauth/callback/Sandbox_app/",
        "provider_account": signed_in_account(request),
        "grants": granted_access(),
    }
    invalid = form.errors or (lifetime_form is not None and lifetime_form.errors)
    return render(request, "sandbox/console.html", context, status=400 if invalid else 200)


@login_not_required
@require_POST
def new_client_secret(request: HttpRequest) -> HttpResponse:
    """Rotate the portal client's secret, as a real console's "New client secret" does.

    The new secret is shown once, in this answer (never in a redirect, message or cookie); the old
    one stops working, so HDP's next refresh is refused with ``invalid_client`` until the admin
    enters the new secret in the portal.
    """
    secret = seed.rotate_client_secret()
    register_secret(secret)
    return _console_page(request, RedirectUriForm(), new_secret=secret)


def granted_access() -> list[dict[str, Any]]:
    """Who granted which application access: one row per (application, person) holding tokens."""
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    tokens = dot_models.get_refresh_token_model().objects.filter(revoked__isnull=True)
    for app_id, app_name, user_id, username in tokens.values_list(
        "application_id", "application__name", "user_id", "user__username"
    ).order_by("application__name", "user__username"):
        row = rows.setdefault(
            (app_id, user_id),
            {"application_id": app_id, "application": app_name, "user_id": user_id, "username": username,
             "refresh_tokens": 0},
        )  # fmt: skip
        row["refresh_tokens"] += 1
    return list(rows.values())


@login_not_required
@require_POST
def revoke_access(request: HttpRequest) -> HttpResponse:
    """Revoke what a person granted an application, as a real provider's "remove access" does.

    Deletes that application's refresh tokens, access tokens and authorization codes for the person:
    HDP's next refresh with the old refresh token gets ``invalid_grant``.
    """
    try:
        app_id, user_id = int(request.POST.get("application", "")), int(request.POST.get("user", ""))
    except ValueError:
        messages.error(request, _("Choose a granted access to revoke."))
        return HttpResponseRedirect(reverse("sandbox_provider:console"), status=303)
    scope = {"application_id": app_id, "user_id": user_id}
    refresh = dot_models.get_refresh_token_model().objects.filter(**scope)
    found = refresh.count()
    refresh.delete()
    dot_models.get_access_token_model().objects.filter(**scope).delete()
    dot_models.get_grant_model().objects.filter(**scope).delete()
    if found:
        messages.success(request, _("Access revoked: its refresh tokens no longer work."))
    else:
        messages.info(request, _("That access was already revoked."))
    return HttpResponseRedirect(reverse("sandbox_provider:console"), status=303)
