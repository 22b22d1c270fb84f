"""What state a completed setup's connection is in, from what HDP holds now and the last real check.

Pure functions over plain facts (like :mod:`portal.support.chain`): no database, no HDP call. The code
that reads HDP and runs its data-source test builds :class:`ChainRead` and a test outcome, and this
module turns them into a :class:`Verdict` (what one check found) and a :class:`Status` (what every
page shows: the setup page, My setups and the support console all call :func:`status_of`, so a
stale "Working" can never sit next to a known problem).

HDP's test of a data source answers ``{"success": true}`` or a 400 whose text names the broken link
(docs/hdp-api.md §4, §7). HDP does not document a machine-readable reason, so an OAuth refusal is
recognised from the OAuth error code the text carries (RFC 6749 §5.2 codes such as
``invalid_grant``) or from words about refreshing a token; docs/decisions.md "Connection status"
records this choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class State(models.TextChoices):
    WORKING = "working", gettext_lazy("Working")
    NEEDS_RECONNECT = "needs_reconnect", gettext_lazy("Needs reconnect")
    BROKEN = "broken", gettext_lazy("Broken")
    #: HDP could not be reached or answered 5xx: says nothing about the connection itself.
    HDP_UNAVAILABLE = "hdp_unavailable", gettext_lazy("HDP unavailable")
    #: Shown, never stored: the last check is older than ``CONNECTION_CHECK_STALE_AFTER``.
    STALE = "stale", gettext_lazy("Not checked recently")
    #: Shown, never stored: a check is running now.
    CHECKING = "checking", gettext_lazy("Checking")
    #: Shown, never stored: no check has finished yet.
    UNCHECKED = "unchecked", gettext_lazy("Not checked yet")


class Cause(models.TextChoices):
    TEST_PASSED = "test_passed", gettext_lazy("HDP's test of the data source passed")
    REFRESH_REFUSED = "refresh_refused", gettext_lazy("The provider refused to refresh the sign-in")
    NO_REFRESH_TOKEN = "no_refresh_token", gettext_lazy("The OAuth profile holds no refresh token")
    CLIENT_REFUSED = (
        "client_refused",
        gettext_lazy("The provider refused the application's client id or secret"),
    )
    OAUTH_FAILED = "oauth_failed", gettext_lazy("HDP's test says the OAuth authorization failed")
    APP_MISSING = "app_missing", gettext_lazy("The OAuth application no longer exists in HDP")
    PROFILE_MISSING = "profile_missing", gettext_lazy("The OAuth profile no longer exists in HDP")
    DATASOURCE_MISSING = "datasource_missing", gettext_lazy("The data source no longer exists in HDP")
    DATASOURCE_UNLINKED = (
        "datasource_unlinked",
        gettext_lazy("The data source no longer uses an OAuth profile"),
    )
    DATASOURCE_OTHER_PROFILE = (
        "datasource_other_profile",
        gettext_lazy("The data source now uses a different OAuth profile"),
    )
    TEST_FAILED = "test_failed", gettext_lazy("HDP's test of the data source failed")
    HDP_UNAVAILABLE = "hdp_unavailable", gettext_lazy("HDP could not be reached")
    HDP_REFUSED = "hdp_refused", gettext_lazy("HDP refused the portal's request")


#: RFC 6749 §5.2 error codes (and RFC 6750 / common provider extensions) a token endpoint answers.
_OAUTH_ERROR = re.compile(
    r"\b(invalid_grant|invalid_client|unauthorized_client|invalid_scope|invalid_request|"
    r"unsupported_grant_type|invalid_token|access_denied|consent_required|interaction_required)\b"
)
_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
#: Words in HDP's test text that mean the OAuth part failed even when no error code is quoted.
_OAUTH_WORDS = re.compile(r"\b(refresh(ing)?|oauth|token|revoked|expired|reauthori[sz]e)\b", re.IGNORECASE)
_NO_REFRESH_TOKEN = re.compile(r"no refresh token", re.IGNORECASE)


@dataclass(frozen=True)
class ChainRead:
    """What HDP holds now for the objects a setup recorded (ids from its ``RemoteObject`` rows).

    ``None`` for an id means the setup never recorded that object (a reused app has an id too).
    ``datasource_profile_ref`` is the data source's raw ``OAuthProfileId`` option, "" when absent.
    """

    app_id: int | None
    app_exists: bool
    profile_id: int | None
    profile_exists: bool
    datasource_id: int | None
    datasource_exists: bool
    datasource_profile_ref: str = ""


@dataclass(frozen=True)
class Verdict:
    """What one check found. Safe to store and show: no token, no secret, no raw HDP body."""

    state: State
    cause: Cause
    #: The OAuth error code the provider answered (``invalid_grant``...), "" when none.
    provider_error: str = ""
    #: HDP's error code when an HDP call failed, else "".
    hdp_code: str = ""


def chain_verdict(read: ChainRead) -> Verdict | None:
    """A broken link in app -> profile -> data source, most fundamental first; None when whole.

    HDP deletes an application's profiles with it, so a missing app explains a missing profile.
    """
    if read.app_id is not None and not read.app_exists:
        return Verdict(State.BROKEN, Cause.APP_MISSING)
    if read.profile_id is not None and not read.profile_exists:
        return Verdict(State.BROKEN, Cause.PROFILE_MISSING)
    if read.datasource_id is not None and not read.datasource_exists:
        return Verdict(State.BROKEN, Cause.DATASOURCE_MISSING)
    ref = read.datasource_profile_ref.strip()
    if read.datasource_id is not None and not ref:
        return Verdict(State.BROKEN, Cause.DATASOURCE_UNLINKED)
    if read.datasource_id is not None and read.profile_id is not None and ref != str(read.profile_id):
        return Verdict(State.BROKEN, Cause.DATASOURCE_OTHER_PROFILE)
    return None


def datasource_test_verdict(success: bool, detail: str | None) -> Verdict:
    """Classify HDP's test of the data source (``detail`` is HDP's own text of a failed test)."""
    if success:
        return Verdict(State.WORKING, Cause.TEST_PASSED)
    text = detail or ""
    match = _OAUTH_ERROR.search(text)
    code = match.group(1) if match else ""
    if code in _CLIENT_ERRORS:
        return Verdict(State.BROKEN, Cause.CLIENT_REFUSED, provider_error=code)
    if code:
        return Verdict(State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, provider_error=code)
    if _NO_REFRESH_TOKEN.search(text):
        return Verdict(State.NEEDS_RECONNECT, Cause.NO_REFRESH_TOKEN)
    if _OAUTH_WORDS.search(text):
        return Verdict(State.NEEDS_RECONNECT, Cause.OAUTH_FAILED)
    return Verdict(State.BROKEN, Cause.TEST_FAILED)


def hdp_failure_verdict(*, unavailable: bool, code: str | None) -> Verdict:
    """An HDP call of the check itself failed: HDP down is not the connection being broken."""
    if unavailable:
        return Verdict(State.HDP_UNAVAILABLE, Cause.HDP_UNAVAILABLE, hdp_code=code or "")
    return Verdict(State.BROKEN, Cause.HDP_REFUSED, hdp_code=code or "")


@dataclass(frozen=True)
class LastCheck:
    """The newest finished check of a setup, as stored."""

    state: State
    cause: Cause
    finished_at: datetime


@dataclass(frozen=True)
class Status:
    state: State
    #: When the shown state was established; None when nothing was ever checked.
    checked_at: datetime | None
    cause: Cause | None = None

    @property
    def label(self) -> str:
        return str(self.state.label)

    @property
    def is_problem(self) -> bool:
        return self.state in (State.NEEDS_RECONNECT, State.BROKEN)

    @property
    def explanation(self) -> str:
        return str(self.cause.label) if self.cause else ""


def status_of(
    last: LastCheck | None, *, now: datetime, stale_after: timedelta, checking: bool = False
) -> Status:
    """The one status every page shows for a completed setup.

    A known problem stays shown however old it is (it does not heal by waiting); a "Working" older
    than ``stale_after`` becomes "Not checked recently" with its time, so it is never shown stale.
    """
    if checking:
        return Status(State.CHECKING, last.finished_at if last else None, last.cause if last else None)
    if last is None:
        return Status(State.UNCHECKED, None)
    if last.state == State.WORKING and now - last.finished_at > stale_after:
        return Status(State.STALE, last.finished_at, last.cause)
    return Status(last.state, last.finished_at, last.cause)


def summary(status: Status) -> str:
    """One line for lists (My setups, the support tenant list), with the time it was checked."""
    if status.checked_at is None:
        return str(status.state.label)
    when = formats.date_format(timezone.localtime(status.checked_at), "DATETIME_FORMAT") + " UTC"
    if status.state == State.STALE:
        return _("Not checked since %(when)s") % {"when": when}
    return _("%(state)s (checked %(when)s)") % {"state": status.state.label, "when": when}


#: Worst first: what the support tenant list shows for a tenant with several setups.
WORST_FIRST = (
    State.BROKEN,
    State.NEEDS_RECONNECT,
    State.HDP_UNAVAILABLE,
    State.CHECKING,
    State.STALE,
    State.UNCHECKED,
    State.WORKING,
)


def worst(statuses: Iterable[Status]) -> Status | None:
    """The status that needs attention first (the oldest check among equals); None for no setup."""
    ranked = sorted(
        statuses,
        key=lambda s: (WORST_FIRST.index(s.state), s.checked_at or datetime.min.replace(tzinfo=UTC)),
    )
    return ranked[0] if ranked else None
