"""Pending authorization-code flows, one row per ``state`` (several per session: two tabs).

The state itself is never stored, only its SHA-256; the row is bound to the session, the person,
the tenant and the run, and snapshots everything the callback needs (SECURITY.md items 1-5), so
the callback never reads live configuration.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _l

from portal.oauth.snapshot import FlowSnapshot


class HandoffLink(models.Model):
    """A link the admin gives the provider account's owner, so that person signs in at the provider
    for one setup and one purpose (issue 19; portal/oauth/handoff.py has the rules). Only the link's
    keyed hash is stored; nothing here is a secret."""

    class Purpose(models.TextChoices):
        CONSENT = "consent", _l("first sign-in")
        RECONNECT = "reconnect", _l("reconnect")
        REPAIR = "repair", _l("repair")

    class State(models.TextChoices):
        WAITING = "waiting", _l("Waiting")
        USED = "used", _l("Used")
        REFUSED = "refused", _l("Refused")
        EXPIRED = "expired", _l("Expired")
        REVOKED = "revoked", _l("Revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    #: HMAC-SHA256 of the link's random part under the portal's key material (handoff.hash_token).
    token_hash = models.CharField(max_length=64, unique=True)
    run = models.ForeignKey("onboarding.Run", on_delete=models.CASCADE, related_name="handoff_links")
    tenant_id = models.IntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handoff_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    #: Where the link was e-mailed ("" when the admin only copied it), the admin's note and language.
    email = models.EmailField(blank=True)
    note = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=8, blank=True)
    #: handoff.StartParams.to_json(): the flow's addresses as the admin's HDP read them at creation.
    start = models.JSONField()
    #: What the owner's page shows (the admin's name, tenant, store, provider): handoff.Shown.
    shown = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: The provider account's display name once used; why it was refused or revoked; by whom.
    used_by = models.CharField(max_length=200, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    ended_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            # One open link per setup and purpose: a new one ends the older (handoff.create).
            models.UniqueConstraint(
                fields=["run", "purpose"],
                condition=models.Q(state="waiting"),
                name="oauth_handoff_one_open_link_per_purpose",
            )
        ]


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
    #: Started by the account owner through a handoff link (no portal sign-in; ``user`` is the
    #: setup's admin, whose HDP access reads the client secret).
    handoff = models.ForeignKey(
        HandoffLink, null=True, blank=True, on_delete=models.CASCADE, related_name="flows"
    )

    class Meta:
        indexes = [models.Index(fields=["session_key_hash"])]

    def aad(self) -> str:
        return f"flow:{self.pk}|tenant:{self.tenant_id}|field:code_verifier"

    def frozen(self) -> FlowSnapshot:
        return FlowSnapshot.from_json(self.snapshot)
