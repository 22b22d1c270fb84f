"""Resume over compensation: ``cancel`` is the explicit, idempotent compensation and deletes,
newest first, only what the run recorded as created (SECURITY.md items 30-33)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpNotFound
from portal.oauth import handoff
from portal.onboarding.engine import records
from portal.onboarding.engine.errors import StepError
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.reconcile import adopt, by_name
from portal.onboarding.engine.records import IN_FLIGHT, KIND_WORDS, Kind, Outcome
from portal.onboarding.models import Run


def cancel(run: Run, client: HdpClient) -> list[str]:
    """Undo the run: delete, newest first, only what it created and recorded; purge its secrets.

    In-flight intents are reconciled first so an object created just before a crash is not leaked.
    404 on delete counts as deleted. Reused apps and unrecorded same-named objects are never touched.
    Calling it again makes no further deletes.
    """
    findings: list[str] = []
    with lease(run):
        if run.status == Run.Status.COMPLETED:
            raise StepError(
                _("This onboarding is complete; its data source is in use and is not removed here.")
            )
        for kind in (Kind.DATASOURCE, Kind.PROFILE, Kind.APP):
            obj = records.fresh(run, kind)
            if obj is None or not obj.created_by_run:
                continue
            words = f"{KIND_WORDS[Kind(kind)]} {obj.name!r}"
            if (
                obj.outcome in IN_FLIGHT
                and adopt(run, obj, by_name(run, client, obj), "adopted on cancel") is None
            ):
                records.mark(obj, Outcome.FAILED, detail="never created in HDP")
                continue
            if obj.outcome != Outcome.CREATED or obj.remote_id is None:
                continue
            delete = {
                Kind.DATASOURCE: client.delete_datasource,
                Kind.PROFILE: client.delete_oauth_profile,
                Kind.APP: client.delete_oauth_app,
            }[Kind(kind)]
            try:
                delete(obj.remote_id)
            except HdpNotFound:
                findings.append(_("The %(what)s was already gone from HDP.") % {"what": words})
            else:
                findings.append(_("Deleted the %(what)s.") % {"what": words})
            records.mark(obj, Outcome.DELETED, detail="deleted on cancel")
            records.audit(run, f"hdp.{kind}.deleted", name=obj.name, remote_id=obj.remote_id)
        fields = records.purge_secrets(run)
        handoff.end_for_run(run, reason="the setup was cancelled", by=run.owner.get_username())
        if run.status != Run.Status.CANCELLED:
            run.status = Run.Status.CANCELLED
            run.cancelled_at = timezone.now()
            fields += ["status", "cancelled_at"]
            records.audit(run, "run.cancelled", deleted=len(findings))
        if fields:
            records.save(run, *fields)
    return findings
