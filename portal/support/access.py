"""Who is support staff, and the stated reason that gates every support page (SECURITY.md item 22).

Support staff: a signed-in person of HDP's System tenant (id 1) whose HDP permissions, as read at
sign-in, include Administrator (12), or both ViewUsers (14) and TenantAPI (25). The role comes from
HDP, not from the portal: removing the permissions in HDP removes access at the next sign-in.

The reason (a ticket id or a sentence) is kept in the session for :data:`REASON_TTL_SECONDS` and
copied into every audit row the console writes.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from portal.accounts.models import PERM_ADMINISTRATOR, PERM_TENANT_API, PERM_VIEW_USERS, User

SYSTEM_TENANT_ID = 1
REASON_SESSION_KEY = "support_reason"
REASON_TTL_SECONDS = 60 * 60


class StoredReason(TypedDict):
    text: str
    at: float


def is_support_staff(user: Any) -> bool:
    if not isinstance(user, User) or not user.is_authenticated or user.is_sandbox_provider_account:
        return False
    if user.hdp_tenant_id != SYSTEM_TENANT_ID:
        return False
    perms = {int(p) for p in user.hdp_permissions or [] if isinstance(p, int) or str(p).isdigit()}
    return PERM_ADMINISTRATOR in perms or {PERM_VIEW_USERS, PERM_TENANT_API} <= perms


def current_reason(session: SessionBase) -> str:
    """The stated reason, or "" when none was given or it is older than an hour."""
    stored = session.get(REASON_SESSION_KEY)
    if not isinstance(stored, dict):
        return ""
    text, at = stored.get("text"), stored.get("at")
    if not isinstance(text, str) or not isinstance(at, int | float):
        return ""
    if timezone.now().timestamp() - at > REASON_TTL_SECONDS:
        session.pop(REASON_SESSION_KEY, None)
        return ""
    return text


def state_reason(session: SessionBase, text: str) -> None:
    session[REASON_SESSION_KEY] = StoredReason(text=text, at=timezone.now().timestamp())
