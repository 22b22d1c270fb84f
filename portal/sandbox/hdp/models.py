"""State of the sandbox HDP emulator, kept in the database.

Why the database and not memory: the emulator is served by the portal process (``/sandbox/hdp/``),
by a separate ``manage.py hdp_emulator`` process, and in-process through ``mock_transport()``; all of
them must see the same tenants, objects and armed faults. Shapes follow docs/hdp-api.md §2-§6.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

SYSTEM_TENANT_ID = 1


class Tenant(models.Model):
    """An HDP tenant (docs/hdp-api.md §6). Ids are explicit so the seed matches docs/architecture.md."""

    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=128, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    status = models.IntegerField(default=1)

    def __str__(self) -> str:
        return self.name

    @property
    def is_system(self) -> bool:
        return self.id == SYSTEM_TENANT_ID


class HdpUser(models.Model):
    """An HDP user account. User names are case-insensitive (docs/hdp-api.md §1), hence the Lower() constraint."""

    user_name = models.CharField(max_length=128)
    password = models.CharField(max_length=255)  # django.contrib.auth.hashers encoding, never plain text
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="users")
    permissions = models.JSONField(default=list)  # effective permission ids (docs/hdp-api.md §6)
    tenants_administered = models.ManyToManyField(Tenant, blank=True, related_name="admins")
    password_expiration = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("user_name"), name="hdp_emulator_user_name_ci_unique")]

    def __str__(self) -> str:
        return self.user_name


class OAuthApp(models.Model):
    """An OAuth application object (docs/hdp-api.md §2): HDP's client registration with a provider."""

    name = models.CharField(max_length=128)
    data_store = models.IntegerField()
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="oauth_apps")
    description = models.TextField(blank=True, default="")
    client_id = models.CharField(max_length=512, blank=True, default="")
    client_secret = models.CharField(max_length=512, blank=True, default="")
    authorize_uri = models.CharField(max_length=2048, blank=True, default="")
    token_uri = models.CharField(max_length=2048, blank=True, default="")
    scope = models.CharField(max_length=1024, blank=True, default="")
    created_by = models.ForeignKey(
        HdpUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


class OAuthProfile(models.Model):
    """An OAuth profile (docs/hdp-api.md §3): one consent's tokens, linked to exactly one app.

    Deleting the app deletes its profiles (CASCADE), as HDP documents; the data-source references are
    stripped by the emulator code, because options are JSON and not a foreign key.
    """

    name = models.CharField(max_length=128)
    app = models.ForeignKey(OAuthApp, on_delete=models.CASCADE, related_name="profiles")
    owner = models.ForeignKey(HdpUser, on_delete=models.CASCADE, related_name="oauth_profiles")
    description = models.TextField(blank=True, default="")
    access_token = models.TextField(blank=True, default="")
    refresh_token = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return self.name


class DataSource(models.Model):
    """A data source (docs/hdp-api.md §4), owned by one user; names unique per owner."""

    name = models.CharField(max_length=128)
    owner = models.ForeignKey(HdpUser, on_delete=models.CASCADE, related_name="data_sources")
    data_store = models.IntegerField()
    connection_type = models.CharField(max_length=16)
    description = models.TextField(blank=True, default="")
    options = models.JSONField(default=dict)  # option id -> string value, as HDP stores them

    def __str__(self) -> str:
        return self.name


class Fault(models.Model):
    """An armed fault (see faults.py). Model-backed so a test process can arm faults in a server process."""

    KINDS = ("status", "delay", "commit_then_drop", "unauthorized")

    method = models.CharField(max_length=10)  # upper-case HTTP method, or "*" for any
    path_regex = models.CharField(max_length=512)
    kind = models.CharField(max_length=32)
    status = models.IntegerField(null=True, blank=True)
    delay = models.FloatField(null=True, blank=True)
    remaining = models.IntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.method} {self.path_regex} x{self.remaining}"


class UserShare(models.Model):
    """A data source shared with one user (docs/hdp-api.md §12): exactly these data-source permissions."""

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="user_shares")
    user = models.ForeignKey(HdpUser, on_delete=models.CASCADE, related_name="shares_received")
    permissions = models.JSONField(default=list)  # data-source permission ids, sorted

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["data_source", "user"], name="hdp_emulator_user_share_unique")
        ]

    def __str__(self) -> str:
        return f"{self.data_source_id} -> user {self.user_id}"


class TenantShare(models.Model):
    """A data source shared with every user of one tenant (docs/hdp-api.md §12)."""

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="tenant_shares")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="shares_received")
    permissions = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["data_source", "tenant"], name="hdp_emulator_tenant_share_unique")
        ]

    def __str__(self) -> str:
        return f"{self.data_source_id} -> tenant {self.tenant_id}"
