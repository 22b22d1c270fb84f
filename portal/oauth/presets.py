"""Provider presets: what the wizard pre-fills for each OAuth data store.

A preset pins the *pair* of authorize and token hosts (SECURITY.md item 5d): an admin can fill the
placeholders (a Microsoft tenant, a Snowflake account...) but cannot point a Google preset's token
URI at another host. ``custom`` lets the admin type everything; its hosts must then be approved in
``settings.OAUTH_ALLOWED_CUSTOM_HOSTS`` (see :mod:`portal.oauth.uris`).

Sources (checked 2026-11): Google "Using OAuth 2.0 for Web Server Applications"; Salesforce "OAuth 2.0
Web Server Flow"; Microsoft identity platform "Authorization code flow"; Snowflake "Configure Snowflake
OAuth for custom clients". Verify against the provider's docs before changing a URI.

Client authentication at the token endpoint (``token_auth``, RFC 6749 §2.3.1; docs/decisions.md):

* Google: ``post``. The web-server guide sends ``client_id`` and ``client_secret`` in the body; the
  discovery document (accounts.google.com/.well-known/openid-configuration) lists
  ``client_secret_post`` and ``client_secret_basic``.
* Salesforce: ``post``. The web server flow page sends them in the body; its discovery document
  lists ``client_secret_post``, ``client_secret_basic`` and ``private_key_jwt``.
* Microsoft: ``post``. The authorization code flow page sends ``client_secret`` in the body; the v2.0
  discovery document lists ``client_secret_post``, ``private_key_jwt`` and ``client_secret_basic``.
* Snowflake: ``basic``. "Configure Snowflake OAuth for custom clients" calls the token endpoint with
  an ``Authorization: Basic`` header of the client id and secret.
* Sandbox (django-oauth-toolkit): ``basic``; it accepts both (oauthlib reads either).
* Custom: the admin chooses at the application step (default ``basic``).

Refresh tokens that change on every use (``rotates_refresh_tokens``): the sandbox provider rotates
(ROTATE_REFRESH_TOKEN); Microsoft's identity platform may return a new refresh token on a refresh
and asks clients to keep the newest; Google keeps the refresh token; Salesforce keeps it unless the
connected app's refresh token policy is set to rotate; Snowflake keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

TokenAuth = Literal["basic", "post"]


@dataclass(frozen=True)
class LifetimeRule:
    """How long a provider's refresh token lives, as the admin can state it at the application step
    (issue 22; docs/decisions.md "Sign-in lifetimes"). ``days`` None = no known end; ``sliding``: the
    time counts from the last use the portal saw (a passing HDP test), else from the consent.
    ``asks_days``: the admin types the number (``days`` is then the preselected value)."""

    key: str
    label: str | StrPromise
    days: int | None = None
    sliding: bool = False
    asks_days: bool = False
    #: The longest and shortest number the admin may type (the provider's documented range).
    min_days: int = 1
    max_days: int = 3650


#: Every rule a preset may offer, by key (kept on the run as ``Run.signin_rule``).
LIFETIME_RULES: dict[str, LifetimeRule] = {
    r.key: r
    for r in (
        LifetimeRule(
            "google_published", _l("Published (In production): ends after six months without use"), 183, True
        ),
        LifetimeRule("google_testing", _l("Still in Testing: ends 7 days after each sign-in"), 7),
        LifetimeRule("sf_until_revoked", _l("Refresh token is valid until revoked")),
        LifetimeRule(
            "sf_expire_after", _l("Expire refresh token after a number of days"), 90, asks_days=True
        ),
        LifetimeRule(
            "sf_unused_for",
            _l("Expire refresh token if not used for a number of days"),
            30,
            True,
            asks_days=True,
        ),
        LifetimeRule(
            "snowflake_validity",
            _l("OAUTH_REFRESH_TOKEN_VALIDITY of the security integration, in days"),
            90,
            asks_days=True,
            max_days=90,
        ),
        LifetimeRule("entra_90", _l("90 days after each sign-in (Microsoft's fixed lifetime)"), 90),
        LifetimeRule("none", _l("No known end")),
        LifetimeRule("fixed_days", _l("A number of days after each sign-in"), 90, asks_days=True),
        LifetimeRule("sliding_days", _l("A number of days without use"), 90, True, asks_days=True),
    )
}

# A placeholder value ends up inside a host name or a path segment: letters, digits, dots and
# hyphens only (no "/", "@", ":", "?", "#"), so filling it can never change the URI's structure.
_PLACEHOLDER_VALUE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,98}[A-Za-z0-9])?$")

# Form labels (gettext_lazy: translated when a form shows them, in that request's language).
PLACEHOLDER_LABELS: dict[str, StrPromise] = {
    "tenant": _l(
        "Microsoft Entra tenant (directory id, domain such as contoso.onmicrosoft.com, or 'organizations')"
    ),
    "org": _l("Dynamics 365 organisation (the part before .crm.dynamics.com)"),
    "account": _l("Snowflake account identifier (the part before .snowflakecomputing.com)"),
}


@dataclass(frozen=True)
class Preset:
    key: str
    # label and refresh_token_hint are shown to people: module-level presets hold gettext_lazy
    # proxies (translated at use time); call str() before handing them to anything but a template.
    label: str | StrPromise
    # HDP data store names this preset applies to (matched case-insensitively); () = every OAuth store.
    datastore_names: tuple[str, ...]
    authorize_uri: str
    token_uri: str
    scope: str
    # Placeholders ({tenant}, {org}, {account}) the admin must fill, in the order the form shows them.
    placeholders: tuple[str, ...] = ()
    extra_params: Mapping[str, str] = field(default_factory=dict)
    # Exact host names or "*.suffix" patterns; None = custom (settings.OAUTH_ALLOWED_CUSTOM_HOSTS).
    allowed_hosts: tuple[str, ...] | None = None
    # RFC 9207 "iss" the provider sends on the callback, when known; None = compare origins.
    expected_issuer: str | None = None
    # RFC 6749 §2.3.1: "basic" = HTTP Basic (client_secret_basic), "post" = in the body.
    token_auth: TokenAuth = "basic"
    # Whether the provider issues a new refresh token on every refresh (the old one then stops
    # working): HDP must store the new one or the connection breaks after its first refresh.
    rotates_refresh_tokens: bool = False
    # Plain words shown at the application step about refresh-token rotation ("" = nothing to say).
    rotation_note: str | StrPromise = ""
    # Plain words: what makes this provider return a refresh token (shown when none came back).
    refresh_token_hint: str | StrPromise = ""
    docs_url: str = ""
    # Fixed client id (sandbox only); "" = the admin enters the id registered at the provider.
    client_id: str = ""
    # Plain words for the provider in a sentence ("Google", "your provider"); "" = the label.
    short_name: str | StrPromise = ""
    # One line under the provider choice at step a: what picking it means.
    summary: str | StrPromise = ""
    # What each scope lets HDP do, in plain words (scope -> sentence); unknown scopes show as typed.
    scope_descriptions: Mapping[str, str | StrPromise] = field(default_factory=dict)
    # The refresh token lifetime rules the application step offers (keys of LIFETIME_RULES), the
    # documented default first; one rule = nothing to ask. ``lifetime_source``: one line naming where
    # the default comes from (docs/decisions.md "Sign-in lifetimes").
    lifetime_rules: tuple[str, ...] = ("none", "fixed_days", "sliding_days")
    lifetime_source: str | StrPromise = ""
    #: The question the application step asks about it ("" = nothing to ask: one rule, no days).
    lifetime_question: str | StrPromise = _l("How long do your provider's refresh tokens last?")

    @property
    def name_in_text(self) -> str:
        """The provider as a sentence names it (never the choice label with its parenthesis)."""
        return str(self.short_name or self.label)

    def describe_scope(self, scope: str) -> str:
        """What ``scope`` allows, in plain words ("" when the preset does not know it)."""
        return str(self.scope_descriptions.get(scope, ""))

    @property
    def is_custom(self) -> bool:
        return self.allowed_hosts is None

    def applies_to(self, datastore_name: str) -> bool:
        if not self.datastore_names:
            return True
        wanted = datastore_name.strip().casefold()
        return any(name.casefold() == wanted for name in self.datastore_names)

    def fill(self, **values: str) -> Preset:
        """Return a copy with the placeholders replaced; ValidationError on a missing or odd value."""
        missing = [name for name in self.placeholders if not values.get(name)]
        if missing:
            raise ValidationError(
                _("Fill in: %(fields)s.")
                % {"fields": ", ".join(str(PLACEHOLDER_LABELS.get(name, name)) for name in missing)},
                code="placeholder_missing",
            )
        for name in self.placeholders:
            if not _PLACEHOLDER_VALUE.match(values[name]) or ".." in values[name]:
                raise ValidationError(
                    _("The %(name)s may contain only letters, digits, dots and hyphens.") % {"name": name},
                    code="placeholder_invalid",
                )
        clean = {
            name: values[name].lower() if name != "tenant" else values[name] for name in self.placeholders
        }
        return replace(
            self,
            authorize_uri=self.authorize_uri.format(**clean),
            token_uri=self.token_uri.format(**clean),
            scope=self.scope.format(**clean),
            placeholders=(),
        )


_GOOGLE_OFFLINE = {"access_type": "offline", "prompt": "consent"}
_GOOGLE_HINT = _l(
    "Google returns a refresh token only when the sign-in asks for access_type=offline and prompt=consent "
    "(the preset sends both); if you changed those parameters, put them back and connect again."
)


def _google(key: str, label: StrPromise, datastore: str, scope: str) -> Preset:
    return Preset(
        key=key,
        label=label,
        datastore_names=(datastore,),
        authorize_uri="https://accounts.google.com/o/oauth2/v2/auth",
        token_uri="https://oauth2.googleapis.com/token",
        scope=scope,
        extra_params=dict(_GOOGLE_OFFLINE),
        allowed_hosts=("accounts.google.com", "oauth2.googleapis.com"),
        expected_issuer="https://accounts.google.com",
        token_auth="post",
        refresh_token_hint=_GOOGLE_HINT,
        lifetime_rules=("google_published", "google_testing"),
        lifetime_question=_l(
            "Is the app published, or still in Testing? (Google Cloud console, OAuth consent screen)"
        ),
        lifetime_source=_l(
            "Google: an app whose consent screen is in Testing gets refresh tokens that end after 7 days; a "
            "published app's refresh tokens end only when revoked or unused for six months."
        ),
        docs_url="https://developers.google.com/identity/protocols/oauth2/web-server",
        short_name=_l("Google"),
        summary=_l("Sign in with a Google account; the addresses are filled in for you."),
        scope_descriptions={
            "https://www.googleapis.com/auth/analytics.readonly": _l("read your Google Analytics data"),
            "https://www.googleapis.com/auth/bigquery": _l("read and query your BigQuery data"),
        },
    )


def _salesforce(key: str, label: StrPromise, login_host: str) -> Preset:
    return Preset(
        key=key,
        label=label,
        datastore_names=("Salesforce",),
        authorize_uri=f"https://{login_host}/services/oauth2/authorize",
        token_uri=f"https://{login_host}/services/oauth2/token",
        scope="api refresh_token",
        allowed_hosts=("login.salesforce.com", "test.salesforce.com", "*.my.salesforce.com"),
        token_auth="post",
        rotation_note=_l(
            "Salesforce can be set to issue a new refresh token each time one is used (the connected app's "
            "refresh token policy). Keep that setting off: if HDP does not store the new token, the "
            "connection stops working after HDP's first refresh."
        ),
        refresh_token_hint=_l(
            "Salesforce returns a refresh token only when the connected app's selected OAuth scopes include "
            "'Perform requests at any time (refresh_token, offline_access)' and the sign-in asks for the "
            "refresh_token scope."
        ),
        lifetime_rules=("sf_until_revoked", "sf_expire_after", "sf_unused_for"),
        lifetime_question=_l(
            "The connected app's refresh token policy (Manage Connected Apps, OAuth policies)"
        ),
        lifetime_source=_l(
            "Salesforce: the connected app's refresh token policy (OAuth policies); its default is valid until revoked."
        ),
        docs_url="https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
        short_name=_l("Salesforce"),
        summary=_l("Sign in with a Salesforce account; the addresses are filled in for you."),
        scope_descriptions={
            "api": _l("read your Salesforce data"),
            "refresh_token": _l("stay connected when you're away"),
        },
    )


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        _google(
            "google_analytics",
            _l("Google (Analytics)"),
            "Google Analytics",
            "https://www.googleapis.com/auth/analytics.readonly",
        ),
        _google(
            "google_bigquery",
            _l("Google (BigQuery)"),
            "Google BigQuery",
            "https://www.googleapis.com/auth/bigquery",
        ),
        _salesforce("salesforce", _l("Salesforce"), "login.salesforce.com"),
        _salesforce(
            "salesforce_sandbox", _l("Salesforce sandbox org (test.salesforce.com)"), "test.salesforce.com"
        ),
        Preset(
            key="microsoft",
            label=_l("Microsoft (Dynamics 365)"),
            datastore_names=("Microsoft Dynamics 365",),
            authorize_uri="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            token_uri="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            scope="https://{org}.crm.dynamics.com/user_impersonation offline_access",
            placeholders=("tenant", "org"),
            allowed_hosts=("login.microsoftonline.com",),
            token_auth="post",
            rotates_refresh_tokens=True,
            rotation_note=_l(
                "Microsoft may issue a new refresh token each time HDP refreshes the access token. If HDP "
                "does not store the new one, the connection may stop working after a refresh; if the "
                "connection check then asks you to reconnect, reconnect."
            ),
            refresh_token_hint=_l(
                "Microsoft returns a refresh token only when the sign-in asks for the offline_access scope "
                "(the preset does); check that your app registration allows it."
            ),
            lifetime_rules=("entra_90",),
            lifetime_question="",
            lifetime_source=_l(
                "Microsoft: refresh tokens last 90 days and cannot be configured; each use returns a new one."
            ),
            docs_url="https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow",
            short_name=_l("Microsoft"),
            summary=_l("Sign in with a Microsoft work account; you enter your tenant and organisation."),
            scope_descriptions={"offline_access": _l("stay connected when you're away")},
        ),
        Preset(
            key="snowflake",
            label=_l("Snowflake"),
            datastore_names=("Snowflake",),
            authorize_uri="https://{account}.snowflakecomputing.com/oauth/authorize",
            token_uri="https://{account}.snowflakecomputing.com/oauth/token-request",
            scope="refresh_token",
            placeholders=("account",),
            allowed_hosts=("*.snowflakecomputing.com",),
            token_auth="basic",
            refresh_token_hint=_l(
                "Snowflake returns a refresh token only when the sign-in asks for the refresh_token scope and "
                "the security integration has OAUTH_ISSUE_REFRESH_TOKENS = TRUE."
            ),
            lifetime_rules=("snowflake_validity",),
            lifetime_question=_l("The security integration's refresh token validity, if not the default"),
            lifetime_source=_l(
                "Snowflake: OAUTH_REFRESH_TOKEN_VALIDITY, 1 to 90 days, 90 by default; Snowflake also says it "
                "at each sign-in."
            ),
            docs_url="https://docs.snowflake.com/en/user-guide/oauth-custom",
            short_name=_l("Snowflake"),
            summary=_l("Sign in with your Snowflake account; you enter the account identifier."),
            scope_descriptions={"refresh_token": _l("stay connected when you're away")},
        ),
        Preset(
            key="custom",
            label=_l("Another provider (enter the details yourself)"),
            datastore_names=(),
            authorize_uri="",
            token_uri="",
            scope="",
            extra_params={"prompt": "consent"},
            allowed_hosts=None,
            token_auth="basic",
            rotation_note=_l(
                "Some providers issue a new refresh token each time one is used. If yours does, the "
                "connection works only if HDP stores the new token after each refresh."
            ),
            refresh_token_hint=_l(
                "Most providers return a refresh token only when the sign-in asks for offline access: add the "
                "offline_access scope (or the provider's equivalent) and keep prompt=consent in the extra "
                "parameters."
            ),
            short_name=_l("your provider"),
            lifetime_source=_l("Your provider's documentation says how long its refresh tokens last."),
            summary=_l("Any other OAuth provider: you enter its addresses yourself."),
            scope_descriptions={"offline_access": _l("stay connected when you're away")},
        ),
    )
}

NATIVE_ORDER = (
    "google_analytics",
    "google_bigquery",
    "salesforce",
    "salesforce_sandbox",
    "microsoft",
    "snowflake",
)


def sandbox_preset() -> Preset | None:
    """The portal's own django-oauth-toolkit provider, only when the sandbox is switched on."""
    if not settings.SANDBOX_ENABLED:
        return None
    base = settings.PORTAL_BASE_URL
    host = urlsplit(base).hostname or ""
    return Preset(
        key="sandbox",
        label=_l("Sandbox provider (practice, no real data)"),
        datastore_names=(),
        authorize_uri=f"{base}/sandbox/oauth/authorize/",
        token_uri=f"{base}/sandbox/oauth/token/",
        # openid: the id_token names the account (sub + iss), so the consent records it and a reconnect
        # or repair by another sandbox account is refused (portal/oauth/identity.py).
        scope="openid read offline_access",
        extra_params={"prompt": "consent"},
        allowed_hosts=(host,),
        expected_issuer=None,
        token_auth="basic",
        rotates_refresh_tokens=True,
        rotation_note=_l(
            "The sandbox provider issues a new refresh token each time one is used, and the old one stops "
            "working. The connection keeps working only if HDP stores the new token after each refresh."
        ),
        refresh_token_hint=_l(
            "The sandbox provider returns a refresh token only when the sign-in asks for the offline_access "
            "scope (with prompt=consent)."
        ),
        docs_url="",
        lifetime_rules=("none",),
        lifetime_question="",
        lifetime_source=_l("The sandbox provider says its lifetime at each sign-in (its console setting)."),
        client_id=settings.SANDBOX_PROVIDER_CLIENT_ID,
        short_name=_l("the sandbox provider"),
        summary=_l("Practise with the portal's own provider: nothing to register elsewhere, no real data."),
        scope_descriptions={
            "openid": _l("know which sandbox account you signed in with"),
            "read": _l("read your sandbox data"),
            "offline_access": _l("stay connected when you're away"),
        },
    )


# The two client authentication methods an admin can choose for a custom provider.
TOKEN_AUTH_CHOICES: tuple[tuple[TokenAuth, StrPromise], ...] = (
    ("basic", _l("HTTP Basic (client_secret_basic): the client ID and secret in an Authorization header")),
    ("post", _l("In the request body (client_secret_post): the client ID and secret as form fields")),
)


def token_auth_label(method: str) -> str:
    """Plain words for a client authentication method."""
    return str(dict(TOKEN_AUTH_CHOICES).get(method, method))  # type: ignore[call-overload]


def presets_for_datastore(name: str) -> list[Preset]:
    """Native presets for ``name`` first, then custom, then the sandbox when it is enabled."""
    found = [PRESETS[key] for key in NATIVE_ORDER if PRESETS[key].applies_to(name)]
    found.append(PRESETS["custom"])
    sandbox = sandbox_preset()
    if sandbox is not None:
        found.append(sandbox)
    return found


def get_preset(key: str) -> Preset | None:
    if key == "sandbox":
        return sandbox_preset()
    return PRESETS.get(key)
