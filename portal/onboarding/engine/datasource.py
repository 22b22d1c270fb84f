"""Steps e and f: the data source (using the run's profile), then HDP's connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.hdp.client import HdpClient
from portal.hdp.schemas import DataSourceCreate, TestResult
from portal.lib.logging import redact, register_secret
from portal.oauth import errors as oauth_errors
from portal.onboarding import signals
from portal.onboarding.engine import records
from portal.onboarding.engine.errors import NameTaken, StepError, StepNotReady
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.reconcile import ensure, finder, verifiable
from portal.onboarding.engine.records import Kind
from portal.onboarding.models import Run

# HDP's test text naming a refused client (RFC 6749 §5.2), as the emulator and providers word it.
_CLIENT_REFUSED = re.compile(r"\binvalid_client\b")


@dataclass(frozen=True)
class DataSourceSettings:
    """The data source the admin asks for; back-end passwords travel separately (never stored)."""

    name: str
    description: str = ""
    options: Mapping[str, str] = field(default_factory=dict)


def _datasource_body(
    run: Run, profile_id: int, secret_options: Mapping[str, str] | None = None
) -> DataSourceCreate:
    if run.datastore_id is None:
        raise StepNotReady(_("Choose the data store first."))
    options = {str(k): str(v) for k, v in (run.ds_options or {}).items()}
    options.update(secret_options or {})
    options["OAuthProfileId"] = str(profile_id)
    return DataSourceCreate(
        name=run.ds_name,
        data_store=run.datastore_id,
        connection_type="Cloud",
        description=run.ds_description or None,
        options=options,
    )


def ensure_datasource(
    run: Run,
    client: HdpClient,
    datasource: DataSourceSettings | None = None,
    *,
    secret_options: Mapping[str, str] | None = None,
) -> int:
    """Make sure the data source exists exactly once, using the run's profile; return its id.

    A same-named data source this run did not create is never adopted or overwritten (NameTaken).
    ``secret_options`` (back-end passwords) go to HDP in the create body only: the run never
    stores them, not even for the length of the request. ``datasource`` is recorded on the run
    under the lease (its name claimed first: :func:`claim_ds_name`); ``None`` keeps what it holds.
    """
    secrets_for_hdp = dict(secret_options or {})
    for value in secrets_for_hdp.values():
        register_secret(value)
    with lease(run):
        records.require_active(run)
        if datasource is not None:
            claim_ds_name(run, datasource.name)
            run.ds_description = datasource.description
            run.ds_options = {k: v for k, v in datasource.options.items() if k not in secrets_for_hdp}
            records.save(run, "ds_description", "ds_options")
        done = records.done_id(run, Kind.DATASOURCE)
        if done is not None:
            return done
        profile_id = records.done_id(run, Kind.PROFILE)
        if profile_id is None:
            raise StepNotReady(_("The OAuth profile must exist before the data source."))
        if not run.ds_name:
            raise StepNotReady(_("Enter a name for the data source."))
        return ensure(
            run,
            Kind.DATASOURCE,
            run.ds_name,
            create=lambda: client.create_datasource(_datasource_body(run, profile_id, secrets_for_hdp)),
            find_by=finder(run, client, Kind.DATASOURCE),
            taken=finder(run, client, Kind.DATASOURCE, exact=False),
            step="datasource",
            check_first=not verifiable(run, Kind.DATASOURCE),
        )


def verify(run: Run, client: HdpClient) -> TestResult:
    """Ask HDP to test the data source; on success the run is completed and holds no secret."""
    with lease(run):
        records.require_active(run)
        ds_id = records.done_id(run, Kind.DATASOURCE)
        if ds_id is None:
            raise StepNotReady(_("The data source must exist before it can be tested."))
        result = client.test_datasource(ds_id)
        ok = bool(result.success)
        run.verified_at = timezone.now()
        run.verify_ok = ok
        message = (
            _("Connection test passed.") if ok else str(result.message or _("The connection test failed."))
        )
        if not ok and _CLIENT_REFUSED.search(result.detail or ""):  # HDP's text: matched, never shown
            message = f"{message} {oauth_errors.HDP_CLIENT_REFUSED}"
        run.verify_message = message if ok else redact(message)[:1000]
        fields = ["verified_at", "verify_ok", "verify_message"]
        if ok:
            run.status = Run.Status.COMPLETED
            run.completed_at = run.verified_at
            fields += ["status", "completed_at", *records.purge_secrets(run)]
        records.save(run, *dict.fromkeys(fields))
        records.audit(run, "run.verified", ok=ok, remote_id=ds_id)
        if ok:
            records.audit(run, "run.completed")
    # After the lease and outside any transaction: connections records it as the setup's first check.
    signals.run_verified.send(
        sender=Run, run=run, success=ok, detail=result.detail, requested_by=run.owner.username
    )
    return result


def claim_ds_name(run: Run, name: str) -> None:
    """Reserve ``name`` for this run among the tenant's active runs (DB unique constraint).

    Two admins of one tenant typing the same name at once: one save wins, the other gets a
    ``NameTaken`` that says why, and neither run loses anything else it holds.
    """
    if records.done_id(run, Kind.DATASOURCE) is not None and name != run.ds_name:
        raise StepError(_("The data source already exists in HDP under its name; it is not renamed here."))
    run.ds_name = name
    try:
        with transaction.atomic():  # a savepoint, so a refusal does not spoil an outer transaction
            records.save(run, "ds_name")
    except IntegrityError:
        run.ds_name = Run.objects.filter(pk=run.pk).values_list("ds_name", flat=True).first() or ""
        raise NameTaken(
            _(
                "Another onboarding in progress for this tenant is already creating a data source named %(name)r. "
                "Pick another name, or finish or cancel that onboarding first."
            )
            % {"name": name}
        ) from None
