"""portal.ratelimit.limiter.hit: fixed windows. The suite pins every test to one window (tests/conftest.py);
here the real window function decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from portal.ratelimit import limiter

WINDOW_OF = limiter.window_of  # the real one, before the suite's fixture replaces it for each test


def test_a_window_is_a_whole_minute_from_the_epoch():
    start = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    assert WINDOW_OF(start, 60) == WINDOW_OF(start + timedelta(seconds=59), 60)
    assert WINDOW_OF(start + timedelta(seconds=60), 60) == WINDOW_OF(start, 60) + 1


@pytest.mark.django_db
def test_the_count_starts_again_in_the_next_window(monkeypatch):
    monkeypatch.setattr(limiter, "window_of", WINDOW_OF)
    with freeze_time(datetime(2026, 12, 7, 10, 0, 30, tzinfo=UTC)) as clock:
        assert [limiter.hit("t", "who", 2) for _ in range(3)] == [True, True, False]
        clock.tick(timedelta(seconds=29))
        assert limiter.hit("t", "who", 2) is False  # still the same minute
        clock.tick(timedelta(seconds=2))
        assert limiter.hit("t", "who", 2) is True  # a new minute
        assert limiter.hit("t", "someone else", 2) is True


@pytest.mark.django_db
def test_the_suite_counts_each_test_in_one_window():
    with freeze_time(datetime(2026, 12, 7, 10, 0, 59, tzinfo=UTC)) as clock:
        assert [limiter.hit("t", "who", 1) for _ in range(1)] == [True]
        clock.tick(timedelta(seconds=2))  # past the minute's end
        assert limiter.hit("t", "who", 1) is False
