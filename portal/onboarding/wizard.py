"""The wizard's step order and where a run stands, computed from the run alone (no HDP call).

Steps, in order: ``store`` (tenant + data store + preset), ``app`` (OAuth application),
``authorize`` (consent at the provider), ``profile`` (OAuth profile), ``datasource``, ``verify``.
A step is *done* when what it produces is recorded on the run; a step can be entered when every
step before it is done. Tests check this without HTTP (allauth ``stages.py`` style).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.onboarding import steps
from portal.onboarding.models import Run

STEP_ORDER: tuple[str, ...] = tuple(steps.STEP_ORDER)

TITLES: dict[str, Promise] = {
    "store": _("Choose the data store"),
    "app": _("OAuth application"),
    "authorize": _("Connect to the provider"),
    "profile": _("Save the connection"),
    "datasource": _("Create the data source"),
    "verify": _("Check it works"),
}
SHORT: dict[str, Promise] = {
    "store": _("Data store"),
    "app": _("Application"),
    "authorize": _("Connect"),
    "profile": _("Profile"),
    "datasource": _("Data source"),
    "verify": _("Check"),
}


def current(run: Run) -> str:
    """The first unfinished step; ``verify`` once everything is done (the page then shows the result)."""
    step = steps.current_step(run)
    return "verify" if step == steps.DONE else step


def is_done(run: Run, step: str) -> bool:
    step_now = steps.current_step(run)
    return step_now == steps.DONE or STEP_ORDER.index(step) < STEP_ORDER.index(step_now)


def can_enter(run: Run, step: str) -> bool:
    """Finished steps and the first unfinished one may be opened; nothing past it."""
    return steps.can_enter(run, step)


def step_url(run: Run, step: str) -> str:
    return reverse(f"onboarding:step-{step}", kwargs={"run_id": run.pk})


def next_step(step: str) -> str | None:
    i = STEP_ORDER.index(step)
    return STEP_ORDER[i + 1] if i + 1 < len(STEP_ORDER) else None


@dataclass(frozen=True)
class StepperItem:
    key: str
    number: int
    title: Promise
    state: str  # "done" | "current" | "next"
    done: bool
    url: str | None  # a link only to a step that can be entered


def stepper(run: Run | None, current: str) -> list[StepperItem]:
    items = []
    step_now = steps.current_step(run) if run is not None else "store"
    for number, key in enumerate(STEP_ORDER, start=1):
        done = run is not None and (
            step_now == steps.DONE or STEP_ORDER.index(key) < STEP_ORDER.index(step_now)
        )
        state = "current" if key == current else ("done" if done else "next")
        url = step_url(run, key) if run is not None and state != "current" and can_enter(run, key) else None
        items.append(StepperItem(key, number, SHORT[key], state, done, url))
    return items
