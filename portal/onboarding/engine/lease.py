"""One runner per run: a short lease on ``Run.busy_until`` (SECURITY.md items 30-33)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.onboarding.engine.errors import StepBusy
from portal.onboarding.models import Run

# Runs whose lease this context (thread / task) holds, so the step functions can take the lease
# themselves and still be called inside an outer ``with lease(run):``.
_HELD: contextvars.ContextVar[frozenset[Any]] = contextvars.ContextVar(
    "onboarding_leases", default=frozenset()
)


@contextmanager
def lease(run: Run, seconds: int = 60) -> Iterator[Run]:
    """Hold the run's lease for the block; a concurrent holder makes this raise ``StepBusy``.

    The lease is a conditional UPDATE (``busy_until`` NULL or past) in autocommit, so two requests
    racing for it cannot both win on any database, and no transaction stays open while HDP is
    called. It expires by itself if the process dies. On entry the run is re-read, so the holder
    sees what a previous holder recorded; unsaved changes to the run are discarded, which is why
    each step records its own inputs after taking the lease. On exit it is released only if it is
    still ours. Re-entrant within one thread/context, so a caller may hold it around several steps.
    """
    if run.pk in _HELD.get():
        yield run
        return
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = (
        Run.objects.filter(pk=run.pk)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=until)
    )
    if not taken:
        raise StepBusy(
            _("This onboarding is already being worked on in another tab or request. Wait a moment.")
        )
    token = _HELD.set(_HELD.get() | {run.pk})
    try:
        run.refresh_from_db()
        yield run
    finally:
        _HELD.reset(token)
        Run.objects.filter(pk=run.pk, busy_until=until).update(busy_until=None)
        run.busy_until = None
