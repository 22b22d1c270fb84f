"""Periodic re-check of a signed-in person against HDP (SECURITY.md item 35).

A session is not tied to the password hash any more (the portal stores no password, and changing
the local unusable one on each sign-in signed people out of their other browsers). Instead each
session asks HDP, with the service account, at most every ``HDP_RECHECK_SECONDS``: the session ends
when the HDP account is gone, renamed, disabled or locked, or when its ``passwordExpiration`` differs
from the one HDP reported at this session's sign-in (HDP moves it when the password changes).
One ``GET /api/admin/users/{id}?details=true`` per session per period; none inside a transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from portal.accounts.models import User
from portal.hdp import client as hdp
from portal.hdp import errors
from portal.hdp.schemas import HdpUserAccount
from portal.lib.events import security_event

logger = logging.getLogger(__name__)

CHECKED_KEY = "hdp_rechecked_at"
STAMP_KEY = "hdp_password_stamp"
#: After HDP could not answer, try again this much sooner than a full period.
RETRY_SECONDS = 60


def remember_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: this session was checked against HDP just now, with this password stamp."""
    session = getattr(request, "session", None)
    if session is None or not isinstance(user, User):
        return
    session[CHECKED_KEY] = time.time()
    session[STAMP_KEY] = user.hdp_password_expiration


def why_ended(account: HdpUserAccount, user: User, stamp: str) -> str | None:
    """The reason this session must end, or None while the HDP account is as it was at sign-in."""
    if account.id != user.hdp_user_id or account.user_name.lower() != user.username:
        return "renamed"
    status = account.status_info or {}
    if status.get("accountLocked") is True or status.get("status") == 0:
        return "disabled"
    current = str((account.password_info or {}).get("passwordExpiration") or "")
    if stamp and current != stamp:
        return "password_changed"
    return None


def _check(user: User, stamp: str) -> str | None:
    assert user.hdp_user_id is not None
    try:
        with hdp.HdpClient.service() as service:
            account = service.get_user_account(user.hdp_user_id, details=True)
    except errors.HdpNotFound:
        return "removed"
    return why_ended(account, user, stamp)


def account_problem(user: User) -> str | None:
    """Why HDP no longer lets this person in (removed, renamed, disabled or locked), else None.

    The API tokens' re-check (portal/api/auth.py): like a session's, except that a changed password
    does not end a token. Raises ``HdpError`` when HDP cannot answer.
    """
    return _check(user, "")


class HdpRecheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated and user.hdp_user_id is not None:
            ended = self._due_check(request, user)
            if ended is not None:
                return ended
        return self.get_response(request)

    def _due_check(self, request: HttpRequest, user: User) -> HttpResponse | None:
        session = request.session
        now = time.time()
        if now - float(session.get(CHECKED_KEY, 0)) < settings.HDP_RECHECK_SECONDS:
            return None
        try:
            reason = _check(user, str(session.get(STAMP_KEY, "") or ""))
        except errors.HdpError as exc:  # HDP down or the service account refused: try again soon
            logger.warning("re-check of %s against HDP failed: %s", user.username, exc.code)
            session[CHECKED_KEY] = now - settings.HDP_RECHECK_SECONDS + RETRY_SECONDS
            return None
        if reason is None:
            session[CHECKED_KEY] = now
            return None
        security_event("session_ended_by_hdp_recheck", request, reason=reason)
        auth.logout(request)
        messages.warning(
            request,
            _(
                "You were signed out because your HDP account changed (for example, its password). Sign in again."
            ),
        )
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(status=204, headers={"HX-Redirect": resolve_url(settings.LOGIN_URL)})
        return redirect_to_login(request.get_full_path())
