"""Pending authorization-code flows, one row per ``state`` (several per session: two tabs).

The state itself is never stored, only its SHA-256; the row is bound to the session, the person,
the tenant and the run, and snapshots everything the callback needs (SECURITY.md items 1-5), so
the callback never reads live configuration.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from portal.oauth.snapshot import FlowSnapshot


class OAuthFlow(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the provider"
        SUCCEEDED = "succeeded", "Tokens received"
        DENIED = "denied", "Cancelled at the provider"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state_hash = models.CharField(max_length=64, unique=True)
    session_key_hash = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_flows")
    # A database link, not an import: oauth code sees the run only as a consent.ConsentTarget.
    run = models.ForeignKey("onboarding.Run", on_delete=models.CASCADE, related_name="oauth_flows")
    tenant_id = models.IntegerField()
    # FlowSnapshot.to_json() (portal/oauth/snapshot.py documents every key): the callback uses only
    # this, never the live app config. Read it with frozen().
    snapshot = models.JSONField()
    code_verifier_enc = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    error_code = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["session_key_hash"])]

    def aad(self) -> str:
        return f"flow:{self.pk}|tenant:{self.tenant_id}|field:code_verifier"

    def frozen(self) -> FlowSnapshot:
        return FlowSnapshot.from_json(self.snapshot)
