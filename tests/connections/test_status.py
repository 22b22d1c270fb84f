"""portal.connections.status: each way a connection breaks gets its own state and cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.connections.status import (
    Cause,
    ChainRead,
    LastCheck,
    State,
    chain_verdict,
    datasource_test_verdict,
    hdp_failure_verdict,
    status_of,
    summary,
)

WHOLE = ChainRead(
    app_id=5,
    app_exists=True,
    profile_id=7,
    profile_exists=True,
    datasource_id=9,
    datasource_exists=True,
    datasource_profile_ref="7",
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def read(**changes):
    return ChainRead(**{**WHOLE.__dict__, **changes})


def test_a_whole_chain_has_no_chain_verdict():
    assert chain_verdict(WHOLE) is None


@pytest.mark.parametrize(
    ("changes", "cause"),
    [
        (
            {"app_exists": False, "profile_exists": False},
            Cause.APP_MISSING,
        ),  # HDP deletes profiles with the app
        ({"profile_exists": False}, Cause.PROFILE_MISSING),
        ({"datasource_exists": False}, Cause.DATASOURCE_MISSING),
        ({"datasource_profile_ref": ""}, Cause.DATASOURCE_UNLINKED),
        ({"datasource_profile_ref": "  "}, Cause.DATASOURCE_UNLINKED),
        ({"datasource_profile_ref": "8"}, Cause.DATASOURCE_OTHER_PROFILE),
    ],
)
def test_a_missing_or_unlinked_part_is_broken_with_its_cause(changes, cause):
    verdict = chain_verdict(read(**changes))
    assert verdict is not None
    assert (verdict.state, verdict.cause) == (State.BROKEN, cause)


def test_a_passing_test_is_working():
    assert datasource_test_verdict(True, None).state == State.WORKING


@pytest.mark.parametrize(
    ("detail", "state", "cause", "code"),
    [
        (
            "There was a problem connecting to the DataSource ga: refreshing OAuth profile p with application a "
            "failed: the provider said invalid_grant",
            State.NEEDS_RECONNECT,
            Cause.REFRESH_REFUSED,
            "invalid_grant",
        ),
        ("token endpoint answered invalid_client", State.BROKEN, Cause.CLIENT_REFUSED, "invalid_client"),
        ("OAuth profile p has no refresh token", State.NEEDS_RECONNECT, Cause.NO_REFRESH_TOKEN, ""),
        ("The OAuth token has expired", State.NEEDS_RECONNECT, Cause.OAUTH_FAILED, ""),
        ("required option(s) missing: Warehouse", State.BROKEN, Cause.TEST_FAILED, ""),
        ("", State.BROKEN, Cause.TEST_FAILED, ""),
    ],
)
def test_a_failed_test_is_classified_from_hdps_text(detail, state, cause, code):
    verdict = datasource_test_verdict(False, detail)
    assert (verdict.state, verdict.cause, verdict.provider_error) == (state, cause, code)


def test_hdp_down_is_not_a_broken_connection():
    assert hdp_failure_verdict(unavailable=True, code=None).state == State.HDP_UNAVAILABLE
    refused = hdp_failure_verdict(unavailable=False, code="222200403")
    assert (refused.state, refused.hdp_code) == (State.BROKEN, "222200403")


def test_never_checked_says_so():
    status = status_of(None, now=NOW, stale_after=DAY)
    assert (status.state, status.checked_at) == (State.UNCHECKED, None)
    assert summary(status) == "Not checked yet"


def test_a_recent_working_check_is_working_with_its_time():
    last = LastCheck(State.WORKING, Cause.TEST_PASSED, NOW - timedelta(hours=3))
    status = status_of(last, now=NOW, stale_after=DAY)
    assert status.state == State.WORKING and status.checked_at == NOW - timedelta(hours=3)
    assert summary(status) == "Working (checked Dec. 1, 2026, 9 a.m. UTC)"


def test_an_old_working_check_is_never_shown_as_working():
    last = LastCheck(State.WORKING, Cause.TEST_PASSED, NOW - DAY - timedelta(minutes=1))
    status = status_of(last, now=NOW, stale_after=DAY)
    assert status.state == State.STALE
    assert summary(status) == "Not checked since Nov. 30, 2026, 11:59 a.m. UTC"


def test_a_known_problem_stays_shown_however_old():
    last = LastCheck(State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED, NOW - 10 * DAY)
    status = status_of(last, now=NOW, stale_after=DAY)
    assert status.state == State.NEEDS_RECONNECT and status.is_problem
    assert status.explanation == "The provider refused to refresh the sign-in"


def test_a_running_check_shows_checking_and_keeps_the_last_time():
    last = LastCheck(State.BROKEN, Cause.PROFILE_MISSING, NOW - timedelta(hours=1))
    status = status_of(last, now=NOW, stale_after=DAY, checking=True)
    assert (status.state, status.checked_at, status.cause) == (
        State.CHECKING,
        last.finished_at,
        Cause.PROFILE_MISSING,
    )
