"""What connections does when the wizard (the layer below) sends one of its signals.

Connected in ``ConnectionsConfig.ready``; portal.onboarding never imports this module.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from portal.connections import checks, foresight
from portal.connections.models import ConnectionCheck
from portal.connections.status import Status, datasource_test_verdict
from portal.onboarding.models import Run

logger = logging.getLogger(__name__)


def record_wizard_check(
    sender: object, *, run: Run, success: bool, detail: str | None, requested_by: str = "", **kwargs: Any
) -> None:
    """The wizard's final test is the setup's first check (same classification as every later one)."""
    try:
        checks.record(
            run,
            datasource_test_verdict(success, detail),
            trigger=ConnectionCheck.Trigger.SETUP,
            requested_by=requested_by,
        )
    except checks.CheckBusy:
        # Another check of this setup is running; its result will be the newer one anyway.
        logger.info("wizard check of %s not recorded: a check is running", run.pk)


def statuses_for_list(sender: object, *, run_ids: list[UUID], **kwargs: Any) -> dict[UUID, Status]:
    """My setups asks for the status of its completed setups (stored checks only, 3 queries)."""
    return checks.statuses_for(run_ids)


def foresight_for_list(sender: object, *, runs: list[Run], **kwargs: Any) -> dict[UUID, foresight.Listed]:
    """My setups asks for the sign-in's expected end of its completed setups (issue 22; one query)."""
    return {pk: foresight.Listed.of(f) for pk, f in foresight.for_runs(runs).items()}
