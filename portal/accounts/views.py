"""Sign in with an HDP account, sign out (POST only)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts import throttle
from portal.accounts.backends import HdpUnreachable
from portal.accounts.forms import LoginForm
from portal.hdp import errors


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def throttled_message(until: datetime) -> str:
    """The same words for every blocked sign-in: they never say whether the user name exists."""
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    if seconds < 120:
        wait = ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    else:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return _(
        "Too many failed sign-ins. For your account's safety, signing in is paused: "
        "try again in %(wait)s (after %(time)s UTC)."
    ) % {"wait": wait, "time": until.astimezone(UTC).strftime("%H:%M:%S")}


@login_not_required
@sensitive_post_parameters("password")
@sensitive_variables("form")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        until = throttle.blocked_until(request, username)
        if until is not None:  # refused before HDP is asked (SECURITY.md item 34)
            form.add_error(None, throttled_message(until))
            next_url = request.POST.get("next") or request.GET.get("next") or ""
            response = render(request, "accounts/login.html", {"form": form, "next": next_url}, status=429)
            response["Retry-After"] = str(max(1, math.ceil((until - timezone.now()).total_seconds())))
            return response
        try:
            user = auth.authenticate(request, username=username, password=form.cleaned_data["password"])
        except HdpUnreachable as exc:
            form.add_error(
                None,
                _("HDP at %(host)s can't be reached right now; try again in a minute.") % {"host": exc.host},
            )
            status = 503
        except errors.HdpError as exc:
            form.add_error(None, exc.explanation)
            status = 502
        else:
            if user is None:
                throttle.record_failure(request, username)
                form.add_error(
                    None, _("That HDP user name and password did not match. Check them and try again.")
                )
                status = 401
            else:
                throttle.record_success(username)
                # A new session key on every sign-in (SECURITY.md item 23): Django's login() skips it when
                # the same person signs in again in this session, now that the auth hash stays the same.
                request.session.cycle_key()
                auth.login(request, user)
                return redirect(_safe_next(request))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
