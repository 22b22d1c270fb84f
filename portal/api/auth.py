"""``Authorization: Bearer hdpp_...``: the token's person, re-checked against HDP like a session.

One indexed query finds the token by its hash (with its person). Then, in order:

* a revoked or expired token, or a person no longer active, is refused (401);
* the token's rate limit (``API_RATELIMIT_PER_MINUTE``, database counters: portal/ratelimit) gives
  429 with ``Retry-After``;
* every ``HDP_RECHECK_SECONDS`` the person is re-checked against HDP with the service account, as a
  browser session is (portal/accounts/recheck.py): a person removed, renamed, disabled or locked in
  HDP loses API access within that interval; if HDP cannot answer, the check is retried a minute later;
* ``last_used_at`` is written at most once a minute (no write per request).

The token acts as its person: ``request.user`` is set to them, so the pages' own access functions
(the setup ownership gate, the support-staff test) decide what the token may see. A token is never
accepted from a URL, a cookie or a form field.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from portal.accounts import recheck
from portal.accounts.models import User
from portal.api import tokens
from portal.api.models import ApiToken
from portal.api.problems import Problem
from portal.hdp import errors
from portal.lib.events import security_event
from portal.ratelimit import limiter as ratelimit

logger = logging.getLogger(__name__)

LAST_USED_EVERY = timedelta(seconds=60)


def _refused(detail: str, code: str = "invalid_token") -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def _bad_token() -> Problem:
    return _refused(
        _(
            "The API token is missing, malformed, expired or revoked. Send a valid token as "
            "'Authorization: Bearer <token>' (create one on the API tokens page)."
        )
    )


class TokenAuth(HttpBearer):
    """ninja's bearer scheme (it names ``bearerAuth`` in the OpenAPI document); the checks are ours."""

    def __call__(self, request: HttpRequest) -> ApiToken:
        value = request.headers.get("Authorization", "")
        scheme, _sep, token = value.partition(" ")
        if scheme.lower() != "bearer" or not tokens.PATTERN.fullmatch(token.strip()):
            raise _bad_token()
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        row = ApiToken.objects.select_related("user").filter(token_hash=tokens.digest(token)).first()
        now = timezone.now()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise _bad_token()
        person = row.user
        if not isinstance(person, User) or not person.is_active or person.is_sandbox_provider_account:
            raise _bad_token()
        _rate_limit(row)
        _recheck(request, row)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = person
        return row


def _rate_limit(row: ApiToken) -> None:
    limit = int(settings.API_RATELIMIT_PER_MINUTE)
    if limit > 0 and not ratelimit.hit("api", str(row.pk), limit):
        wait = 60 - int(timezone.now().timestamp()) % 60
        raise Problem(
            429,
            "rate_limited",
            _("This token made too many requests in the last minute. Wait a minute, then try again."),
            headers={"Retry-After": str(max(wait, 1))},
        )


def _recheck(request: HttpRequest, row: ApiToken) -> None:
    now = timezone.now()
    period = timedelta(seconds=int(settings.HDP_RECHECK_SECONDS))
    person = row.user
    due = row.hdp_checked_at is None or now - row.hdp_checked_at >= period
    if due and person.hdp_user_id is not None:
        try:
            reason = recheck.account_problem(person) or ""
        except errors.HdpError as exc:  # HDP down: keep the last answer, ask again in a minute
            logger.warning("re-check of %s against HDP failed: %s", person.username, exc.code)
            retry = now - period + timedelta(seconds=recheck.RETRY_SECONDS)
            ApiToken.objects.filter(pk=row.pk).update(hdp_checked_at=retry)
        else:
            ApiToken.objects.filter(pk=row.pk).update(hdp_checked_at=now, hdp_refusal=reason)
            if reason and not row.hdp_refusal:
                security_event("api_token_refused_by_hdp_recheck", request, reason=reason)
            row.hdp_refusal = reason
    if row.hdp_refusal:
        raise _refused(
            _(
                "Your HDP account was removed, renamed, disabled or locked, so this token no longer "
                "works. Ask your HDP administrator."
            ),
            code="account_refused",
        )


def require_scope(request: HttpRequest, scope: str) -> ApiToken:
    row: Any = getattr(request, "auth", None)
    if not isinstance(row, ApiToken):  # pragma: no cover (every operation is authenticated)
        raise _bad_token()
    if scope not in (row.scopes or []):
        raise Problem(
            403,
            "insufficient_scope",
            _("This token does not have the %(scope)s scope. Create a token with it.") % {"scope": scope},
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    return row
