from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Request and failure counters kept in the database, so every instance sees the same count.

    ``blocked_until`` is set only by failure counters (:func:`portal.ratelimit.limiter.record_failure`).
    The table keeps the name it had when the model lived in ``portal.accounts``.
    """

    key = models.CharField(max_length=200, unique=True)
    count = models.IntegerField(default=0)
    window_ends_at = models.DateTimeField(db_index=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_ratecounter"
