"""Rate limits whose counters live in the database (``ratelimit.RateCounter``), not in process
memory, so several portal instances behind a load balancer enforce one limit.

* :func:`hit`: per-person request limits for endpoints that make outbound calls (SECURITY.md item 13).
* :func:`record_failure` / :func:`blocked_until` / :func:`forget`: failure counters with exponential
  back-off, used by the sign-in throttle (SECURITY.md item 34, ``portal.accounts.throttle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.ratelimit.models import RateCounter


def window_of(now: datetime, window_seconds: int) -> int:
    """The fixed window ``now`` falls in: the count starts again at each multiple of ``window_seconds``.
    (The suite pins it to one window per test, tests/conftest.py: a test that makes eleven requests must
    not straddle a minute's end.)"""
    return int(now.timestamp()) // window_seconds


def hit(scope: str, who: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request; return False when ``who`` is over ``limit`` in the current window."""
    now = timezone.now()
    window = window_of(now, window_seconds)
    key = f"{scope}:{who}:{window}"
    ends = now + timedelta(seconds=window_seconds)
    count = _increment(key)
    if count is None:
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=key, count=1, window_ends_at=ends)
            count = 1
        except IntegrityError:
            count = _increment(key) or 0
    if count == 1:  # first hit of a window: sweep old counters
        RateCounter.objects.filter(window_ends_at__lt=now - timedelta(seconds=window_seconds)).delete()
    return count <= limit


def _increment(key: str) -> int | None:
    """Add one to ``key``'s counter and return the new count, in one statement (UPDATE ... RETURNING,
    PostgreSQL and SQLite >= 3.35 alike); None when there is no counter yet. Every API request
    counts here (portal/api/auth.py), so this is one round trip, not an UPDATE and a SELECT."""
    quote = connection.ops.quote_name
    table, column = quote(RateCounter._meta.db_table), quote("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + 1 WHERE {quote('key')} = %s RETURNING {column}",  # noqa: S608
            [key],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class Failure:
    """The state of one failure counter after a failure was recorded."""

    count: int
    blocked_until: datetime | None
    #: True when this failure started a new block (the threshold was crossed, or crossed again).
    newly_blocked: bool


def blocked_until(key: str) -> datetime | None:
    """When the block on ``key`` ends, or None if it is not blocked now."""
    now = timezone.now()
    until = (
        RateCounter.objects.filter(key=key, blocked_until__gt=now, window_ends_at__gt=now)
        .values_list("blocked_until", flat=True)
        .first()
    )
    return until


def record_failure(
    key: str, *, limit: int, window_seconds: int, base_seconds: int, max_seconds: int
) -> Failure:
    """Count one failure for ``key``; from the ``limit``-th failure within the window on, block the
    key for ``base_seconds`` doubling with each further failure (at most ``max_seconds``).

    The window starts at the first failure; once blocked, the counter is remembered until
    ``window_seconds`` after the block ends, so a failure right after a block doubles the wait.
    """
    now = timezone.now()
    window = timedelta(seconds=window_seconds)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = RateCounter.objects.select_for_update().filter(key=key).first()
                if row is None:
                    row = RateCounter.objects.create(key=key, count=0, window_ends_at=now + window)
                elif row.window_ends_at <= now:
                    row.count, row.blocked_until, row.window_ends_at = 0, None, now + window
                row.count += 1
                newly_blocked = False
                if limit > 0 and row.count >= limit:
                    wait = min(base_seconds * 2 ** (row.count - limit), max_seconds)
                    row.blocked_until = now + timedelta(seconds=wait)
                    row.window_ends_at = max(row.window_ends_at, row.blocked_until + window)
                    newly_blocked = True
                row.save(update_fields=["count", "blocked_until", "window_ends_at"])
                return Failure(row.count, row.blocked_until, newly_blocked)
        except IntegrityError:  # another instance created the row first: count on it
            continue
    raise RuntimeError(f"could not record a failure for {key}")  # pragma: no cover


def forget(key: str) -> None:
    """Drop the counter (and any block) for ``key``, e.g. after a successful sign-in."""
    RateCounter.objects.filter(key=key).delete()


def sweep() -> int:
    """Delete counters past their window (and past any block); returns how many."""
    deleted, _ = RateCounter.objects.filter(window_ends_at__lt=timezone.now()).delete()
    return int(deleted)
