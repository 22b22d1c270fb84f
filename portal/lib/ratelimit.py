"""Per-person rate limits for endpoints that make outbound calls (SECURITY.md item 13).

Counters live in the database (``accounts.RateCounter``), not in process memory, so several
portal instances behind a load balancer enforce one limit.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portal.accounts.models import RateCounter


def hit(scope: str, who: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request; return False when ``who`` is over ``limit`` in the current window."""
    now = timezone.now()
    window = int(now.timestamp()) // window_seconds
    key = f"{scope}:{who}:{window}"
    ends = now + timedelta(seconds=window_seconds)
    updated = RateCounter.objects.filter(key=key).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=key, count=1, window_ends_at=ends)
        except IntegrityError:
            RateCounter.objects.filter(key=key).update(count=F("count") + 1)
    count = RateCounter.objects.filter(key=key).values_list("count", flat=True).first() or 0
    if count == 1:  # first hit of a window: sweep old counters
        RateCounter.objects.filter(window_ends_at__lt=now - timedelta(seconds=window_seconds)).delete()
    return count <= limit
