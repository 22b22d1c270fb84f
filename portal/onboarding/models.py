"""An onboarding run: one admin's attempt to connect one data store for one tenant.

The run is the source of truth for the wizard. It records, per HDP object, the *intent* before
the HDP call and the outcome after (``RemoteObject``), so a crash, a timeout or a second browser
tab can always find out what exists instead of creating it twice (SECURITY.md item 30).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _l

from portal.lib import crypto
from portal.lib.choices import ChoiceDisplayMixin
from portal.oauth import handoff
from portal.oauth.identity import Identity


class Run(ChoiceDisplayMixin, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _l("In progress")
        COMPLETED = "completed", _l("Completed")
        CANCELLED = "cancelled", _l("Cancelled")

    class AppMode(models.TextChoices):
        REUSE = "reuse", "Reuse an existing application"
        CREATE = "create", "Register a new application"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # Step a: tenant and data store (set server-side from the person's HDP tenants).
    tenant_id = models.IntegerField()
    tenant_name = models.CharField(max_length=200, blank=True)
    datastore_id = models.IntegerField(null=True, blank=True)
    datastore_name = models.CharField(max_length=200, blank=True)
    preset = models.CharField(max_length=40, blank=True)
    # The data store's option definitions as HDP listed them at step a (OptionDefinition dumps), so
    # the data source step renders its form without calling HDP on GET.
    datastore_option_defs = models.JSONField(default=list, blank=True)

    # Step b: OAuth application (reused or new). Never the secret in clear.
    app_mode = models.CharField(max_length=8, choices=AppMode.choices, blank=True)
    # For app_mode "reuse": the HDP id of the existing application the admin picked (steps.ensure_app).
    reuse_app_id = models.IntegerField(null=True, blank=True)
    app_name = models.CharField(max_length=128, blank=True)
    app_description = models.CharField(max_length=500, blank=True)
    app_client_id = models.CharField(max_length=500, blank=True)
    app_authorize_uri = models.CharField(max_length=2000, blank=True)
    app_token_uri = models.CharField(max_length=2000, blank=True)
    app_scope = models.CharField(max_length=2000, blank=True)
    # Extra authorization parameters from the preset (e.g. access_type=offline, prompt=consent).
    app_extra_params = models.JSONField(default=dict, blank=True)
    # How the client authenticates at the token endpoint: "basic" | "post" ("" = the preset's).
    # Chosen by the admin for a custom provider; HDP's application has no such field.
    app_token_auth = models.CharField(max_length=8, blank=True)
    # Encrypted client secret; kept only until the consent's token exchange (SECURITY.md item 14).
    app_secret_enc = models.TextField(blank=True)

    # Step c: consent. Tokens encrypted, kept only until the profile exists.
    tokens_enc = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    granted_scope = models.CharField(max_length=2000, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # The provider account of the consent, when the provider identifies it (portal.oauth.identity):
    # a reconnect must come from the same one unless the admin chose to replace it. Not secrets.
    provider_subject = models.CharField(max_length=255, blank=True)
    provider_issuer = models.CharField(max_length=500, blank=True)
    provider_display_name = models.CharField(max_length=200, blank=True)

    # The sign-in's lifetime (issue 22; portal/connections/foresight.py). ``signin_facts``: what the
    # token answer of the last consent or reconnect said (refresh_token_expires_in, expires_in, its
    # Date header), when it came and whether it replaced a refresh token HDP held; never a token.
    signin_facts = models.JSONField(default=dict, blank=True)
    # The admin's rule for it (a key of portal.oauth.presets.LIFETIME_RULES; "" = the preset's default)
    # and the number of days the rule asks for, when it asks.
    signin_rule = models.CharField(max_length=24, blank=True)
    signin_rule_days = models.IntegerField(null=True, blank=True)

    # Step d: profile.
    profile_name = models.CharField(max_length=128, blank=True)
    profile_description = models.CharField(max_length=500, blank=True)

    # Step e: data source.
    ds_name = models.CharField(max_length=128, blank=True)
    ds_description = models.CharField(max_length=500, blank=True)
    ds_options = models.JSONField(default=dict, blank=True)

    # Step f: verify.
    verified_at = models.DateTimeField(null=True, blank=True)
    verify_ok = models.BooleanField(null=True, blank=True)
    verify_message = models.TextField(blank=True)

    # Who can use the data source (issue 20): HDP's shares as the portal read them back after its last
    # share change (portal.onboarding.sharing.Shares.as_dict); None until the portal changed any. The
    # setup page compares it with HDP's shares now, and a repair that re-creates the data source
    # offers to restore it. User and tenant ids with permission ids only: no names, no secrets.
    shares_set = models.JSONField(null=True, blank=True)

    # A short lease taken by whoever is running an HDP call for this run (double submit guard).
    busy_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        # The API's setup list walks a person's runs newest first (portal/api/setups.py, keyset on
        # (created_at, id)): this index lets it stop after one page instead of sorting every run.
        indexes = [models.Index(fields=["owner", "-created_at", "-id"], name="onboarding_run_owner_created")]
        constraints = [
            # Two admins of one tenant cannot both be creating the same data source name.
            models.UniqueConstraint(
                fields=["tenant_id", "ds_name"],
                condition=Q(status="active") & ~Q(ds_name=""),
                name="onboarding_run_unique_active_ds_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_name} / {self.datastore_name} ({self.status})"

    # --- encrypted fields: associated data binds each value to this run, tenant and field --------
    def _aad(self, field: str) -> str:
        return f"run:{self.pk}|tenant:{self.tenant_id}|field:{field}"

    def seal(self, field: str, value: str) -> None:
        setattr(self, f"{field}_enc", crypto.encrypt(value, aad=self._aad(field)))

    def unseal(self, field: str) -> str | None:
        stored = getattr(self, f"{field}_enc")
        if not stored:
            return None
        return crypto.decrypt(stored, aad=self._aad(field))

    # --- consent: the one place that writes or clears the held tokens ---------------------------
    _CONSENT_FIELDS = (
        "tokens_enc",
        "consented_at",
        "granted_scope",
        "token_expires_at",
        "provider_subject",
        "provider_issuer",
        "provider_display_name",
        "signin_facts",
        "updated_at",
    )

    def record_consent(
        self,
        tokens_json: str,
        *,
        scope: str,
        expires_at: datetime | None,
        purpose: str = "consent",
        identity: Identity | None = None,
        lifetime: dict[str, Any] | None = None,
    ) -> None:
        """Keep a fresh exchange's tokens encrypted on the run until HDP holds them, with the account,
        scopes, expiry and time (a reconnect updates them; ``purpose`` was checked by the callback).
        The client secret held for this exchange is dropped: HDP holds it (SECURITY.md item 14)."""
        self.seal("tokens", tokens_json)
        self.app_secret_enc = ""
        self.consented_at = timezone.now()
        self.signin_facts = {
            **(lifetime or {}),
            "at": self.consented_at.isoformat(),
            "purpose": purpose,
            # A reconnect (or a repair's new consent) gives HDP a new refresh token for the old one.
            "replaced": purpose != "consent",
        }
        self.granted_scope = scope[:2000]
        self.token_expires_at = expires_at
        if identity is not None or purpose == "consent":
            self.provider_subject = identity.subject if identity else ""
            self.provider_issuer = identity.issuer if identity else ""
            self.provider_display_name = identity.display_name if identity else ""
        self.save(update_fields=[*self._CONSENT_FIELDS, "app_secret_enc"])
        # The purpose is done: a handoff link still waiting for it has nothing left to do (issue 19).
        link_purpose = "reconnect" if purpose == "replace" else purpose
        handoff.end_for_run(self, reason="the sign-in was completed another way", purposes=(link_purpose,))

    def forget_consent(self) -> None:
        """The held tokens belong to settings that changed: the admin consents again."""
        self.tokens_enc = ""
        self.consented_at = None
        self.granted_scope = ""
        self.token_expires_at = None
        self.signin_facts = {}
        self.save(update_fields=list(self._CONSENT_FIELDS))

    # --- portal.oauth's ConsentTarget (portal/oauth/consent.py) -----------------------------------
    def accepts_consent(self) -> bool:
        return self.status == self.Status.ACTIVE

    _PROFILE_MAY_EXIST = ("created", "reused", "unknown", "pending")

    def purpose_for(self, profile: RemoteObject | None) -> str | None:
        """Which flow the run may start given its profile record: a first consent while no profile
        was made (nor may have reached HDP), a reconnect of a completed setup into its profile, a
        repair's new consent once the profile is recorded as deleted in HDP (SECURITY.md item 36), else none."""
        if self.status == self.Status.ACTIVE:
            return None if profile is not None and profile.outcome in self._PROFILE_MAY_EXIST else "consent"
        held = (
            profile is not None and profile.outcome in ("created", "reused") and profile.remote_id is not None
        )
        if self.status == self.Status.COMPLETED and held:
            return "reconnect"
        if self.status == self.Status.COMPLETED and profile is not None and profile.outcome == "failed":
            # portal.connections' repair marked the profile as deleted in HDP: a new consent may
            # create it again, once the setup's application exists (SECURITY.md item 36).
            app = self.remote("app")
            if app is not None and app.outcome in ("created", "reused") and app.remote_id is not None:
                return "repair"
        return None

    def consent_purpose(self) -> str | None:
        return self.purpose_for(self.remote("profile"))

    def consent_identity(self) -> Identity | None:
        if not (self.provider_subject and self.provider_issuer):
            return None
        return Identity(self.provider_subject, self.provider_issuer, self.provider_display_name)

    def held_client_secret(self) -> str | None:
        return self.unseal("app_secret")

    def consent_done_url(self, purpose: str = "consent") -> str:
        if purpose == "repair":
            return reverse("connections:repair-finish", kwargs={"run_id": self.pk})
        if purpose != "consent":
            return reverse("connections:reconnect-finish", kwargs={"run_id": self.pk})
        return reverse("onboarding:step-profile", kwargs={"run_id": self.pk})

    def consent_retry_url(self, purpose: str = "consent") -> str:
        if purpose == "repair":
            return reverse("connections:repair-finish", kwargs={"run_id": self.pk})
        if purpose != "consent":
            return reverse("connections:reconnect-finish", kwargs={"run_id": self.pk})
        return reverse("onboarding:step-authorize", kwargs={"run_id": self.pk})

    def remote(self, kind: str) -> RemoteObject | None:
        """The run's HDP object of ``kind`` (at most one: ``onboarding_one_object_per_kind``): from the
        rows of ``prefetch_related("objects_made")`` when the run has them, else one query."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("objects_made")
        if prefetched is not None:
            return next((o for o in prefetched if o.kind == kind), None)
        return self.objects_made.filter(kind=kind).first()

    def remote_id(self, kind: str) -> int | None:
        obj = self.remote(kind)
        return obj.remote_id if obj else None


class RemoteObject(ChoiceDisplayMixin, models.Model):
    """An HDP object this run created, adopted or reused. Written *before* the HDP create call."""

    class Kind(models.TextChoices):
        APP = "app", _l("OAuth application")
        PROFILE = "profile", _l("OAuth profile")
        DATASOURCE = "datasource", _l("Data source")

    class Outcome(models.TextChoices):
        PENDING = "pending", _l("Request about to be sent")
        CREATED = "created", _l("Created")
        UNKNOWN = "unknown", _l("Outcome unknown (reconcile before retrying)")
        FAILED = "failed", _l("Refused by HDP")
        REUSED = "reused", _l("Existing object reused")
        DELETED = "deleted", _l("Deleted on cancel")

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="objects_made")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=128)
    remote_id = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    created_by_run = models.BooleanField(default=True)
    intent_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind"], name="onboarding_one_object_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} -> {self.remote_id} ({self.outcome})"
