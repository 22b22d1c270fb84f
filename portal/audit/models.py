"""One row per thing a person did through the portal, for support's trail. No secret values.

The table is still ``onboarding_auditentry`` (the model moved here from the onboarding app without
touching the rows; see migrations/0001_initial.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from django.db import models


class AuditedRun(Protocol):
    """What an entry needs from the run it is about (the onboarding Run has this shape)."""

    @property
    def pk(self) -> Any: ...

    @property
    def tenant_id(self) -> int: ...


class AuditEntry(models.Model):
    """What a person did through the portal, for support's trail. No secret values."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    tenant_id = models.IntegerField(null=True, blank=True)
    run = models.ForeignKey("onboarding.Run", null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "onboarding_auditentry"
        ordering = ["-at"]

    @classmethod
    def record(
        cls,
        actor: str,
        action: str,
        *,
        run: AuditedRun | None = None,
        tenant_id: int | None = None,
        **detail: Any,
    ) -> AuditEntry:
        return cls.objects.create(
            actor=actor,
            action=action,
            run_id=run.pk if run is not None else None,
            tenant_id=tenant_id if tenant_id is not None else (run.tenant_id if run else None),
            detail=detail,
        )
