"""Personal API tokens and the answers kept for ``Idempotency-Key`` retries (docs/api.md).

A token is shown once, at its creation; only a keyed HMAC-SHA256 of it is stored
(:mod:`portal.api.tokens`), looked up by that hash through a unique index. Neither table holds a
token, a secret or an HDP password.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    #: HMAC-SHA256 (hex) of the token under the portal's token key; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    #: The token's first characters ("hdpp_AbCd"), so a person can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    #: Updated at most once a minute (portal/api/auth.py), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: When the token's person was last re-checked against HDP, and why HDP refused them ("" = fine).
    hdp_checked_at = models.DateTimeField(null=True, blank=True)
    hdp_refusal = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.name} ({self.prefix}...)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class IdempotentRequest(models.Model):
    """The first answer to a write with an ``Idempotency-Key``, replayed for 24 hours to a retry
    with the same key and body; a retry with a different body is refused (portal/api/idempotency.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    #: SHA-256 of method, path, body and the token's person: what "the same request" means.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: None while the first request is still being answered.
    status_code = models.IntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    location = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key[:16]} -> {self.status_code}"
