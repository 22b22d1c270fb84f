"""Signals the wizard sends, so the layer above (portal.connections) can react without being imported.

Onboarding never imports portal.connections (docs/architecture.md "Rules"); connections connects its
receivers in ``ConnectionsConfig.ready``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.dispatch import Signal

#: Sent by ``engine.verify`` once HDP answered the wizard's test of the data source, after the run
#: was saved (and outside any transaction). Arguments: ``run`` (the Run), ``success`` (bool),
#: ``detail`` (HDP's own text of a failed test, or None) and ``requested_by`` (HDP user name).
run_verified = Signal()

#: Sent by My setups with ``run_ids`` (the completed runs it lists). A receiver answers a dict of
#: run id -> :class:`SetupStatus` read from stored checks only (no HDP call), in a fixed number of
#: queries. With no receiver the page shows the run's own status ("Completed").
setups_listed = Signal()


#: Sent by My setups with ``runs`` (the completed Run objects it lists). A receiver answers a dict of
#: run id -> :class:`SetupForesight`, the sign-in's expected end (issue 22), in a fixed number of queries.
setups_foreseen = Signal()


class SetupForesight(Protocol):
    """What My setups shows of a completed setup's sign-in (``portal.connections.foresight.Listed``)."""

    @property
    def line(self) -> str: ...

    @property
    def basis(self) -> tuple[str, ...]: ...


class SetupStatus(Protocol):
    """What My setups shows of a completed setup's connection (``portal.connections.status.Status``)."""

    @property
    def label(self) -> str: ...

    @property
    def checked_at(self) -> datetime | None: ...

    @property
    def is_problem(self) -> bool: ...
