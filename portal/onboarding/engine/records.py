"""What the engine keeps about a run's HDP objects: the ``RemoteObject`` rows, audit entries, the
encrypted secrets it drops once HDP holds them. No HDP call here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.audit.models import AuditEntry
from portal.hdp.errors import HdpAuthError, HdpError
from portal.lib.events import security_event
from portal.lib.logging import redact
from portal.onboarding.engine.errors import StepError
from portal.onboarding.models import RemoteObject, Run

#: HDP's system tenant: its OAuth applications are usable by every child tenant (docs/hdp-api.md §2).
SYSTEM_TENANT_ID = 1

Kind = RemoteObject.Kind
Outcome = RemoteObject.Outcome

KIND_WORDS = {
    Kind.APP: _l("OAuth application"),
    Kind.PROFILE: _l("OAuth profile"),
    Kind.DATASOURCE: _l("data source"),
}
KIND_PLURALS = {
    Kind.APP: _l("OAuth applications"),
    Kind.PROFILE: _l("OAuth profiles"),
    Kind.DATASOURCE: _l("data sources"),
}
# Outcomes after which an object is in place for the next step.
DONE_OUTCOMES = (Outcome.CREATED, Outcome.REUSED)
# Outcomes of an intent whose create may have reached HDP: reconcile before anything else.
IN_FLIGHT = (Outcome.PENDING, Outcome.UNKNOWN)


def require_active(run: Run) -> None:
    """A cancelled run makes no more HDP objects (cancel deleted them; creating again would leak)."""
    if run.status == Run.Status.CANCELLED:
        raise StepError(_("This onboarding was cancelled. Start a new one to connect this data store."))


def actor(run: Run) -> str:
    return str(run.owner.get_username())


def audit(run: Run, action: str, **detail: Any) -> None:
    AuditEntry.record(actor(run), action, run=run, **detail)


def save(run: Run, *fields: str) -> None:
    # Only the named fields: others (the OAuth callback, a new consent) write other fields of the row.
    run.save(update_fields=[*fields, "updated_at"])


def mark(obj: RemoteObject, outcome: str, *, detail: str = "", remote_id: int | None = None) -> None:
    obj.outcome = outcome
    obj.detail = detail[:500]
    if remote_id is not None:
        obj.remote_id = remote_id
    obj.save(update_fields=["outcome", "detail", "remote_id", "updated_at"])


def as_int(value: Any) -> int:
    return int(value)  # HDP sends ids as int or as a numeric string (docs/hdp-api.md §0)


def intent(run: Run, kind: str, name: str) -> RemoteObject:
    """Record (and commit) the intent to create ``kind`` named ``name`` before the POST."""
    obj, _created = RemoteObject.objects.update_or_create(
        run=run,
        kind=kind,
        defaults={
            "name": name,
            "outcome": Outcome.PENDING,
            "created_by_run": True,
            "remote_id": None,
            "detail": "",
        },
    )
    return obj


def fresh(run: Run, kind: str) -> RemoteObject | None:
    return RemoteObject.objects.filter(run=run, kind=kind).first()


def done_id(run: Run, kind: str) -> int | None:
    obj = fresh(run, kind)
    if obj is not None and obj.outcome in DONE_OUTCOMES and obj.remote_id is not None:
        return obj.remote_id
    return None


def plain(exc: HdpError) -> str:
    """The client's explanation (written for people, carries no HDP text or secret)."""
    return redact(exc.explanation)[:500]


def alert_auth(run: Run, exc: HdpAuthError, step: str) -> None:
    security_event(
        "hdp.auth_refused",
        actor=actor(run),
        tenant=run.tenant_id,
        run=str(run.pk),
        step=step,
        status=exc.status,
    )


def purge_secrets(run: Run) -> list[str]:
    cleared = [f for f in ("app_secret_enc", "tokens_enc") if getattr(run, f)]
    for field in cleared:
        setattr(run, field, "")
    return cleared


def drop_sealed(run: Run, field: str) -> None:
    """HDP holds this secret now (the app's client secret, or the tokens once the profile exists),
    so the portal stops keeping its encrypted copy (SECURITY.md item 14)."""
    if getattr(run, f"{field}_enc"):
        setattr(run, f"{field}_enc", "")
        save(run, f"{field}_enc")
