"""The expected end of a setup's sign-in and its basis (issue 22 item 3; portal/connections/foresight.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from portal.connections import foresight
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.oauth import presets

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GOOGLE = presets.PRESETS["google_analytics"]
SALESFORCE = presets.PRESETS["salesforce"]
SNOWFLAKE = presets.PRESETS["snowflake"]
MICROSOFT = presets.PRESETS["microsoft"]
CUSTOM = presets.PRESETS["custom"]


def facts(expires_in=None, *, date="", at=AT):
    return {"refresh_token_expires_in": expires_in, "expires_in": 3600, "date": date, "at": at.isoformat()}


def test_the_providers_answer_decides_and_is_named_in_the_basis():
    f = foresight.forecast(SNOWFLAKE, facts=facts(7776000), signed_in_at=AT)
    assert f.end == AT + timedelta(days=90)
    assert f.from_provider
    assert f.basis[0].startswith("Snowflake said 90 days at the sign-in of")


def test_a_ten_minute_answer_is_ten_minutes():
    f = foresight.forecast(None, facts=facts(600), signed_in_at=AT)
    assert f.end == AT + timedelta(minutes=10)
    assert "10 minutes" in f.basis[0]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-5, "zero or negative"),
        (0, "zero or negative"),
        ("0", "zero or negative"),
        ("soon", "not a number"),
        ("NaN", "not a number"),
        ("inf", "not a number"),
        (True, "not a number"),
        (3650 * 86400 + 1, "more than ten years"),
        ("9" * 60, "more than ten years"),
    ],
)
def test_a_bad_answer_is_no_known_end_with_a_note_never_a_crash(value, words):
    f = foresight.forecast(CUSTOM, facts=facts(value), signed_in_at=AT)
    assert f.end is None
    assert f.line() == "No known end"
    assert any(words in line for line in f.basis)
    assert not f.from_provider


def test_a_bad_answer_falls_back_to_the_rule_with_the_note():
    f = foresight.forecast(SNOWFLAKE, facts=facts(-1), signed_in_at=AT)
    assert f.end == AT + timedelta(days=90)  # the documented default validity
    assert "zero or negative" in f.basis[1]


def test_a_numeric_string_is_accepted():
    assert foresight.said_lifetime("86400") == (86400, "")
    assert foresight.said_lifetime(None) == (None, "")


def test_google_defaults_to_published_and_slides_with_use():
    used = AT + timedelta(days=20)
    f = foresight.forecast(GOOGLE, signed_in_at=AT, last_used_at=used)
    assert f.rule.key == "google_published"
    assert f.end == used + timedelta(days=183)
    assert "last used at the check of" in f.basis[0]


def test_google_in_testing_is_seven_days_after_the_sign_in_whatever_the_use():
    f = foresight.forecast(
        GOOGLE, rule_key="google_testing", signed_in_at=AT, last_used_at=AT + timedelta(days=2)
    )
    assert f.end == AT + timedelta(days=7)
    assert f.basis[0].startswith("7 days after the sign-in of")


def test_salesforce_default_is_until_revoked():
    f = foresight.forecast(SALESFORCE, signed_in_at=AT)
    assert f.end is None
    assert "valid until revoked" in f.basis[0]


def test_salesforce_unused_for_n_days_counts_from_the_last_passing_check():
    used = AT + timedelta(days=3)
    f = foresight.forecast(
        SALESFORCE, rule_key="sf_unused_for", rule_days=30, signed_in_at=AT, last_used_at=used
    )
    assert f.end == used + timedelta(days=30)
    f = foresight.forecast(SALESFORCE, rule_key="sf_unused_for", rule_days=30, signed_in_at=AT)
    assert f.end == AT + timedelta(days=30)
    assert "no passing check since the sign-in" in f.basis[0]


def test_salesforce_expire_after_n_days_is_fixed():
    f = foresight.forecast(SALESFORCE, rule_key="sf_expire_after", rule_days=10, signed_in_at=AT)
    assert f.end == AT + timedelta(days=10)


def test_a_rule_the_preset_does_not_offer_is_the_presets_default():
    f = foresight.forecast(SALESFORCE, rule_key="google_testing", signed_in_at=AT)
    assert f.rule.key == "sf_until_revoked"


@pytest.mark.parametrize("days", [0, -3, 91, 100000])
def test_bad_days_are_no_known_end_with_a_note(days):
    f = foresight.forecast(SNOWFLAKE, rule_days=days, signed_in_at=AT)
    assert f.end is None
    assert any("not a usable lifetime" in line for line in f.basis)


def test_microsoft_is_ninety_days_from_the_sign_in_and_says_replacements_do_not_move_it():
    f = foresight.forecast(MICROSOFT, signed_in_at=AT, last_used_at=AT + timedelta(days=80))
    assert f.end == AT + timedelta(days=90)
    assert "replaces the refresh token" in f.rotation and "does not move this date" in f.rotation


def test_a_provider_that_keeps_its_token_says_so():
    assert "keeps the same refresh token" in foresight.forecast(SNOWFLAKE, signed_in_at=AT).rotation


def test_custom_rules():
    assert foresight.forecast(CUSTOM, signed_in_at=AT).end is None
    fixed = foresight.forecast(CUSTOM, rule_key="fixed_days", rule_days=5, signed_in_at=AT)
    assert fixed.end == AT + timedelta(days=5)
    used = AT + timedelta(days=1)
    sliding = foresight.forecast(
        CUSTOM, rule_key="sliding_days", rule_days=5, signed_in_at=AT, last_used_at=used
    )
    assert sliding.end == used + timedelta(days=5)


def test_no_sign_in_time_is_no_known_end():
    f = foresight.forecast(SNOWFLAKE)
    assert f.end is None
    assert "No sign-in time" in f.basis[0]


@pytest.mark.parametrize(
    ("date", "note"),
    [
        ("Tue, 01 Dec 2026 08:50:00 GMT", "10 minutes behind"),
        ("Tue, 01 Dec 2026 09:20:00 GMT", "20 minutes ahead"),
    ],
)
def test_a_clock_skew_over_five_minutes_is_noted(date, note):
    f = foresight.forecast(SNOWFLAKE, facts=facts(86400, date=date), signed_in_at=AT)
    assert f.end == AT + timedelta(days=1)  # counted from the portal's clock
    assert any(note in line for line in f.basis)


@pytest.mark.parametrize("date", ["Tue, 01 Dec 2026 09:04:00 GMT", "", "not a date"])
def test_a_small_or_unreadable_skew_is_not_noted(date):
    f = foresight.forecast(SNOWFLAKE, facts=facts(86400, date=date), signed_in_at=AT)
    assert len(f.basis) == 1


def test_the_line_and_days_left():
    f = foresight.forecast(SNOWFLAKE, facts=facts(86400 * 3), signed_in_at=AT)
    now = AT + timedelta(days=1, hours=1)
    assert f.days_left(now) == 2
    assert f.line(now).startswith("Sign-in valid until ") and f.line(now).endswith("(2 days)")
    assert f.line(AT + timedelta(days=4)).startswith("Sign-in lapsed at")
    assert f.days_left(AT + timedelta(days=4)) == 0


@pytest.mark.django_db
def test_for_run_reads_the_facts_the_rule_and_the_last_passing_check(make_setup_run):
    run = make_setup_run(preset="salesforce", rule="sf_unused_for", days=30)
    assert foresight.for_run(run).end == run.consented_at + timedelta(days=30)
    done = run.consented_at + timedelta(days=2)
    for state, at in ((State.WORKING, done), (State.BROKEN, done + timedelta(days=1))):
        ConnectionCheck.objects.create(
            run=run, trigger="scheduled", started_at=at, expires_at=at, finished_at=at, state=state
        )
    assert foresight.for_run(run).end == done + timedelta(days=30)  # the broken check used nothing
    assert foresight.for_runs([run])[run.pk].end == done + timedelta(days=30)


@pytest.mark.django_db
def test_a_check_before_the_last_sign_in_does_not_count(make_setup_run):
    run = make_setup_run(preset="salesforce", rule="sf_unused_for", days=30)
    before = run.consented_at - timedelta(days=1)
    ConnectionCheck.objects.create(
        run=run,
        trigger="scheduled",
        started_at=before,
        expires_at=before,
        finished_at=before,
        state=State.WORKING,
    )
    assert foresight.for_run(run).end == run.consented_at + timedelta(days=30)


@pytest.fixture
def make_setup_run(django_user_model):
    from portal.onboarding.models import Run

    def make(preset="snowflake", rule="", days=None, expires_in=None):
        owner, _ = django_user_model.objects.get_or_create(
            username="acme_admin", defaults={"hdp_tenant_id": 71, "email": "ada@acme.example"}
        )
        now = timezone.now()
        return Run.objects.create(
            owner=owner,
            tenant_id=71,
            tenant_name="Acme",
            datastore_name="Salesforce",
            preset=preset,
            ds_name="acme_sf",
            status=Run.Status.COMPLETED,
            completed_at=now,
            consented_at=now,
            signin_rule=rule,
            signin_rule_days=days,
            signin_facts=facts(expires_in, at=now),
        )

    return make


@pytest.mark.parametrize(
    ("language", "valid", "said"),
    [
        ("de", "Anmeldung gültig bis", "Snowflake nannte 3 Tage"),
        ("fr", "Connexion valable jusqu", "Snowflake a indiqué 3 jours"),
    ],
)
def test_the_line_and_basis_are_translated(language, valid, said):
    from django.utils import translation

    with translation.override(language):
        f = foresight.forecast(SNOWFLAKE, facts=facts(86400 * 3), signed_in_at=AT)
        assert f.line(AT + timedelta(hours=1)).startswith(valid)
        assert f.basis[0].startswith(said)
        assert foresight.forecast(CUSTOM, signed_in_at=AT).line() in (
            "Kein bekanntes Ende",
            "Pas de fin connue",
        )


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (timedelta(days=13, hours=1), "14 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=5, minutes=1), "6 hours"),
        (timedelta(minutes=9, seconds=10), "10 minutes"),
        (timedelta(seconds=20), "1 minute"),
        (timedelta(seconds=-5), "1 minute"),
    ],
)
def test_time_left_in_words(left, words):
    assert foresight.time_left(left) == words


def test_expected_end_is_the_forecasts_end_for_every_kind_of_input():
    """/metrics counts ends with expected_end (no words); it must agree with the forecast the pages show."""
    signed = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    facts_cases = [
        {},
        {"refresh_token_expires_in": 7_776_000, "at": "2026-03-02T10:00:00+00:00"},
        {"refresh_token_expires_in": "600"},
        {"refresh_token_expires_in": -5},
        {"refresh_token_expires_in": "soon", "at": "not a time"},
        {"at": "2026-03-03T00:00:00+00:00"},
    ]
    compared = 0
    for preset in (*presets.PRESETS.values(), None):
        offered = (preset or presets.PRESETS["custom"]).lifetime_rules or ("none",)
        for rule_key in ("", *offered, "unknown"):
            for rule_days in (None, 30, 100_000):
                for facts in facts_cases:
                    for signed_in_at in (signed, None):
                        for used in (None, signed + timedelta(days=3), signed - timedelta(days=3)):
                            args = {"rule_key": rule_key, "rule_days": rule_days, "facts": facts,
                                    "signed_in_at": signed_in_at, "last_used_at": used}  # fmt: skip
                            expected = foresight.forecast(preset, **args).end
                            assert foresight.expected_end(preset, **args) == expected, (preset, args)
                            compared += expected is not None
    assert compared > 100  # the grid reaches ends, not only "no known end"
