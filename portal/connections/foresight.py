"""When a completed setup's sign-in (the provider's refresh token HDP holds) is expected to lapse (issue 22).

The expected end comes, in this order, from what the provider said in the token answer of the last
consent or reconnect (``refresh_token_expires_in``, kept in ``Run.signin_facts``), else from the
lifetime rule the admin stated for the setup (``Run.signin_rule``, one of the preset's
``portal.oauth.presets.LIFETIME_RULES``; "" = the preset's documented default), else "no known end".
A *sliding* rule ("ends after N days without use") counts from the last passing check the portal
saw (each passing HDP test used the refresh token), else from the sign-in.

Whether HDP stores a rotated refresh token is unconfirmed (docs/hdp-api.md §11 [U]): for a preset
whose provider rotates (``Preset.rotates_refresh_tokens``) a replaced token therefore never moves the
date, which counts from the last sign-in (the earliest the sign-in can lapse); :attr:`Forecast.rotation`
says which applies, in words the setup page shows.

:func:`forecast` is pure (unit-tested with bad values); :func:`for_run` / :func:`for_runs` read what
it needs (the last passing check) in a fixed number of queries. Nothing here calls HDP or a provider.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

from django.db import connections
from django.db.models import UUIDField
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.audit.models import AuditEntry
from portal.connections.models import ConnectionCheck, Notification
from portal.connections.status import State, Status
from portal.oauth import presets
from portal.onboarding.models import Run

#: A stated lifetime above this is not believed (issue 22 "Bad input"): "no known end" with a note.
LONGEST = timedelta(days=3650)
#: A provider clock further off than this at the sign-in is noted in the basis.
SKEW_NOTED = timedelta(minutes=5)


@dataclass(frozen=True)
class Forecast:
    """A setup's expected sign-in end (None = no known end) and why, in plain sentences."""

    end: datetime | None
    #: Why this end, first the sentence that decided it, then notes (bad values, clock skew).
    basis: tuple[str, ...]
    #: The rule in force (the preset's default when the setup states none).
    rule: presets.LifetimeRule
    #: Its number of days, when the rule has one.
    days: int | None
    #: Where the preset's default comes from (one line).
    source: str
    #: Whether a replaced refresh token moves the date, in words (docs/hdp-api.md [U] on rotation).
    rotation: str
    #: The provider said the lifetime itself at the last sign-in (rather than the rule).
    from_provider: bool = False

    def days_left(self, now: datetime) -> int | None:
        """Whole days until the end (rounded up; 0 once past it); None without an end."""
        if self.end is None:
            return None
        return max(0, math.ceil((self.end - now).total_seconds() / 86400))

    def line(self, now: datetime | None = None) -> str:
        """ "Sign-in valid until {date} ({n} days)" or "No known end" (My setups, the setup page)."""
        now = now or timezone.now()
        if self.end is None:
            return _("No known end")
        if self.end <= now:
            return _("Sign-in lapsed at %(date)s") % {"date": when(self.end)}
        n = self.days_left(now) or 0
        return ngettext(
            "Sign-in valid until %(date)s (%(n)d day)", "Sign-in valid until %(date)s (%(n)d days)", n
        ) % {"date": when(self.end), "n": n}


@dataclass(frozen=True)
class Listed:
    """A forecast as lists show it (My setups, the support console): its line and its basis."""

    line: str
    basis: tuple[str, ...]
    end: datetime | None

    @classmethod
    def of(cls, forecast: Forecast, now: datetime | None = None) -> Listed:
        return cls(forecast.line(now), forecast.basis, forecast.end)


def when(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT") + " UTC"


def _day(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT") + " UTC"


def said_lifetime(value: Any) -> tuple[int | None, str]:
    """``refresh_token_expires_in`` as sent -> (seconds, "") or (None, why it is not used).

    Absent (None) -> (None, ""). Negative, zero, not a number, or above ten years -> (None, a note)."""
    if value is None or value == "":
        return None, ""
    shown = str(value)[:40]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or math.isnan(number) or math.isinf(number):
        return None, _(
            "The provider's answer gave refresh_token_expires_in = %(value)s, which is not a number; "
            "the portal ignores it."
        ) % {"value": shown}
    if number <= 0:
        return None, _(
            "The provider's answer gave refresh_token_expires_in = %(value)s, which is not a lifetime "
            "(zero or negative); the portal ignores it."
        ) % {"value": shown}
    if number > LONGEST.total_seconds():
        return None, _(
            "The provider's answer gave refresh_token_expires_in = %(value)s, more than ten years; the "
            "portal does not believe it and ignores it."
        ) % {"value": shown}
    return int(number), ""


def clock_skew(facts: Mapping[str, Any]) -> timedelta | None:
    """The portal's time at the sign-in minus the provider's (its answer's Date header); None if unknown."""
    at, date = facts.get("at"), facts.get("date")
    if not at or not date:
        return None
    try:
        received = datetime.fromisoformat(str(at))
        theirs = parsedate_to_datetime(str(date))
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None or received.tzinfo is None:
        return None
    return received - theirs


def _skew_note(facts: Mapping[str, Any]) -> str:
    skew = clock_skew(facts)
    if skew is None or abs(skew) <= SKEW_NOTED:
        return ""
    minutes = round(abs(skew).total_seconds() / 60)
    if skew > timedelta(0):
        text = ngettext(
            "The provider's clock was %(n)d minute behind the portal's at the sign-in; the date counts "
            "from the portal's clock.",
            "The provider's clock was %(n)d minutes behind the portal's at the sign-in; the date counts "
            "from the portal's clock.",
            minutes,
        )
    else:
        text = ngettext(
            "The provider's clock was %(n)d minute ahead of the portal's at the sign-in; the date counts "
            "from the portal's clock.",
            "The provider's clock was %(n)d minutes ahead of the portal's at the sign-in; the date counts "
            "from the portal's clock.",
            minutes,
        )
    return text % {"n": minutes}


def rule_for(preset: presets.Preset | None, key: str) -> presets.LifetimeRule:
    """The setup's rule if its preset offers it, else the preset's default (custom's: no known end)."""
    offered = (preset or presets.PRESETS["custom"]).lifetime_rules or ("none",)
    return presets.LIFETIME_RULES[key if key in offered else offered[0]]


def rotation_words(preset: presets.Preset | None) -> str:
    name = (preset or presets.PRESETS["custom"]).name_in_text
    if preset is not None and preset.rotates_refresh_tokens:
        return _(
            "%(provider)s replaces the refresh token each time it is used. Whether HDP keeps the replacement "
            "is not confirmed, so a replaced token does not move this date: it counts from the last sign-in "
            "(consent or reconnect)."
        ) % {"provider": name}
    return _(
        "%(provider)s keeps the same refresh token when HDP uses it: only a sign-in (consent or reconnect) "
        "gives a new one."
    ) % {"provider": name}


def _days(rule: presets.LifetimeRule, stated: int | None) -> tuple[int | None, str]:
    """The rule's number of days (the stated one when the rule asks) or (None, why not)."""
    days = stated if rule.asks_days and stated is not None else rule.days
    if days is None:
        return None, ""
    if not rule.min_days <= days <= min(rule.max_days, LONGEST.days):
        return None, _("The rule's %(days)s days is not a usable lifetime; the portal ignores it.") % {
            "days": days
        }
    return days, ""


def _sign_in_time(facts: Mapping[str, Any], signed_in_at: datetime | None) -> datetime | None:
    """When the recorded token answer was received (``facts["at"]``), else ``signed_in_at``."""
    if facts.get("at"):
        try:
            return datetime.fromisoformat(str(facts["at"]))
        except ValueError:
            pass
    return signed_in_at


def forecast(
    preset: presets.Preset | None,
    *,
    rule_key: str = "",
    rule_days: int | None = None,
    facts: Mapping[str, Any] | None = None,
    signed_in_at: datetime | None = None,
    last_used_at: datetime | None = None,
) -> Forecast:
    """The expected end of a sign-in and its basis (pure: no database, no clock).

    ``facts``: ``Run.signin_facts`` (the token answer of the last consent or reconnect);
    ``signed_in_at``: that consent's time (else the setup's completion); ``last_used_at``: the last
    passing check after it (a sliding rule counts from it)."""
    facts = facts or {}
    rule = rule_for(preset, rule_key)
    source = str((preset or presets.PRESETS["custom"]).lifetime_source)
    rotation = rotation_words(preset)
    name = (preset or presets.PRESETS["custom"]).name_in_text
    notes = [n for n in (_skew_note(facts),) if n]
    at = _sign_in_time(facts, signed_in_at)
    seconds, bad = said_lifetime(facts.get("refresh_token_expires_in"))
    if bad:
        notes.insert(0, bad)
    days, bad_days = _days(rule, rule_days)

    def result(end: datetime | None, first: str, *, said: bool = False) -> Forecast:
        return Forecast(end, (first, *notes), rule, days, source, rotation, said)

    if seconds is not None and at is not None:
        end = at + timedelta(seconds=seconds)
        return result(
            end,
            _("%(provider)s said %(lifetime)s at the sign-in of %(when)s.")
            % {"provider": name, "lifetime": _duration(seconds), "when": _day(at)},
            said=True,
        )
    if bad_days:
        notes.insert(0, bad_days)
    label = str(rule.label)
    if days is None or at is None:
        if days is not None and at is None:
            return result(None, _("No sign-in time is recorded for this setup, so no end can be counted."))
        return result(None, _("No known end: %(rule)s.") % {"rule": label})
    if rule.sliding:
        start = max(at, last_used_at) if last_used_at else at
        end = start + timedelta(days=days)
        if last_used_at and last_used_at >= at:
            first = ngettext(
                "Unused for %(n)d day, per your rule (%(rule)s): last used at the check of %(when)s.",
                "Unused for %(n)d days, per your rule (%(rule)s): last used at the check of %(when)s.",
                days,
            ) % {"n": days, "rule": label, "when": _day(start)}
        else:
            first = ngettext(
                "Unused for %(n)d day, per your rule (%(rule)s): no passing check since the sign-in of %(when)s.",
                "Unused for %(n)d days, per your rule (%(rule)s): no passing check since the sign-in of %(when)s.",
                days,
            ) % {"n": days, "rule": label, "when": _day(start)}
        return result(end, first)
    end = at + timedelta(days=days)
    first = ngettext(
        "%(n)d day after the sign-in of %(when)s, per your rule (%(rule)s).",
        "%(n)d days after the sign-in of %(when)s, per your rule (%(rule)s).",
        days,
    ) % {"n": days, "when": _day(at), "rule": label}
    return result(end, first)


def expected_end(
    preset: presets.Preset | None,
    *,
    rule_key: str = "",
    rule_days: int | None = None,
    facts: Mapping[str, Any] | None = None,
    signed_in_at: datetime | None = None,
    last_used_at: datetime | None = None,
) -> datetime | None:
    """:attr:`Forecast.end` of :func:`forecast` with the same arguments, without its words: what
    ``/metrics`` counts for thousands of setups per scrape (tests/connections/test_foresight.py holds
    the two equal)."""
    facts = facts or {}
    at = _sign_in_time(facts, signed_in_at)
    if at is None:
        return None
    said = facts.get("refresh_token_expires_in")
    if said is not None and said != "":
        seconds, _bad = said_lifetime(said)
        if seconds is not None:
            return at + timedelta(seconds=seconds)
    rule = rule_for(preset, rule_key)
    days, _bad = _days(rule, rule_days)
    if days is None:
        return None
    if rule.sliding and last_used_at:
        return max(at, last_used_at) + timedelta(days=days)
    return at + timedelta(days=days)


def time_left(left: timedelta) -> str:
    """How long until an end, in whole days, else hours, else minutes (rounded up): "3 days", "9 minutes"."""
    seconds = max(0, math.ceil(left.total_seconds()))
    for unit in (86400, 3600, 60):
        if seconds >= unit or unit == 60:
            return _duration(max(1, math.ceil(seconds / unit)) * unit)
    return _duration(seconds)  # pragma: no cover (the loop always returns)


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        n = seconds // 86400
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    if seconds % 3600 == 0:
        n = seconds // 3600
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    if seconds % 60 == 0:
        n = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


# --- reading a setup's facts -------------------------------------------------------------------------


#: :func:`_last_used`'s query in plain SQL: through the ORM (``values().annotate(Max())``) it cost more
#: CPU to build than to run. ``id`` and ``finished_at`` name the model's columns, so that the rows come
#: back as checks with the database's values converted (a datetime from SQLite's text too).
_LAST_USED_SQL = (
    "SELECT MIN(c.id) AS id, c.run_id, MAX(c.finished_at) AS finished_at FROM {checks} c "
    "WHERE c.run_id IN ({ids}) AND c.state = %s AND NOT c.abandoned GROUP BY c.run_id"
)


def _last_used(run_ids: Iterable[UUID]) -> dict[UUID, datetime]:
    """The last passing check of each setup (one query; none for no setup)."""
    ids = list(run_ids)
    if not ids:
        return {}
    connection = connections[ConnectionCheck.objects.db]
    sql = _LAST_USED_SQL.format(
        checks=connection.ops.quote_name(ConnectionCheck._meta.db_table), ids=", ".join(["%s"] * len(ids))
    )
    as_db = UUIDField().get_db_prep_value  # a run's id (Run's primary key), as the database holds it
    params = [as_db(i, connection) for i in ids] + [State.WORKING.value]
    rows = ConnectionCheck.objects.raw(sql, params)
    return {row.run_id: row.finished_at for row in rows if row.finished_at is not None}


def of(run: Run, last_used_at: datetime | None) -> Forecast:
    signed_in = run.consented_at or run.completed_at
    used = last_used_at if last_used_at and signed_in and last_used_at >= signed_in else None
    return forecast(
        presets.get_preset(run.preset),
        rule_key=run.signin_rule,
        rule_days=run.signin_rule_days,
        facts=run.signin_facts or {},
        signed_in_at=signed_in,
        last_used_at=used,
    )


def end_from(
    preset: presets.Preset | None,
    rule_key: str,
    rule_days: int | None,
    facts: Mapping[str, Any] | None,
    consented_at: datetime | None,
    completed_at: datetime | None,
    last_used_at: datetime | None,
) -> datetime | None:
    """``of(run, last_used_at).end`` without its words, from the run's columns (``/metrics`` reads them as
    tuples, ``facts`` with only the keys :func:`expected_end` reads; the preset already looked up:
    ``presets.get_preset`` builds the sandbox's preset on each call)."""
    signed_in = consented_at or completed_at
    used = last_used_at if last_used_at and signed_in and last_used_at >= signed_in else None
    return expected_end(
        preset,
        rule_key=rule_key,
        rule_days=rule_days,
        facts=facts or {},
        signed_in_at=signed_in,
        last_used_at=used,
    )


def end_of(run: Run, last_used_at: datetime | None) -> datetime | None:
    """``of(run, last_used_at).end`` without its words."""
    return end_from(
        presets.get_preset(run.preset), run.signin_rule, run.signin_rule_days, run.signin_facts, run.consented_at, run.completed_at,
        last_used_at,
    )  # fmt: skip


def for_run(run: Run, status: Status | None = None) -> Forecast:
    """One setup's forecast; with its shown ``status`` whose last check passed, no query at all."""
    if status is not None and status.state in (State.WORKING, State.STALE) and status.checked_at:
        return of(run, status.checked_at)  # the newest finished check passed: the last use
    return of(run, _last_used([run.pk]).get(run.pk))


def for_runs(runs: Iterable[Run]) -> dict[UUID, Forecast]:
    """Each setup's forecast, in two queries whatever their number (the runs, their last passing checks)."""
    runs = list(runs)
    used = _last_used([r.pk for r in runs])
    return {r.pk: of(r, used.get(r.pk)) for r in runs}


def close_warnings(run: Run, now: datetime | None = None, *, keep_end: datetime | None = None) -> int:
    """A new sign-in (reconnect) moved the expected end: the warnings about another end are closed
    (an e-mail not yet sent is then not sent). Returns how many were closed."""
    open_ = Notification.objects.filter(run=run, kind=Notification.Kind.EXPIRING, closed_at__isnull=True)
    if keep_end is not None:
        open_ = open_.exclude(expected_end=keep_end)
    return open_.update(closed_at=now or timezone.now())


# --- changing the rule on the setup page ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleChange:
    """What "Save the rule" did: whether anything changed, and the forecast the page shows now."""

    changed: bool
    forecast: Forecast


def change_rule(run: Run, rule: str, days: int | None, *, actor: str) -> RuleChange:
    """Keep the admin's rule with the setup (audited); warnings about the old end are closed."""
    if (rule, days) == (run.signin_rule, run.signin_rule_days):
        return RuleChange(False, for_run(run))
    before = (run.signin_rule, run.signin_rule_days)
    run.signin_rule, run.signin_rule_days = rule, days
    run.save(update_fields=["signin_rule", "signin_rule_days", "updated_at"])
    forecast = for_run(run)
    close_warnings(run, keep_end=forecast.end)
    AuditEntry.record(
        actor,
        "connection.signin_rule_changed",
        run=run,
        previous=f"{before[0] or 'default'}:{before[1] or ''}",
        rule=f"{rule or 'default'}:{days or ''}",
    )
    return RuleChange(True, forecast)
