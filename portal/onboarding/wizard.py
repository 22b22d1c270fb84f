"""The wizard's step order and where a run stands, computed from the run alone (no HDP call).

Steps, in order: ``store`` (tenant + data store + preset), ``app`` (OAuth application),
``authorize`` (consent at the provider), ``profile`` (OAuth profile), ``datasource``, ``verify``.
A step is *done* when what it produces is recorded on the run; a step can be entered when every
step before it is done. :class:`Progress` reads the run's records once (one query) and answers
every question a page asks; tests check it without HTTP (allauth ``stages.py`` style).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.onboarding.models import RemoteObject, Run

STEP_ORDER: tuple[str, ...] = ("store", "app", "authorize", "profile", "datasource", "verify")
#: What :attr:`Progress.step` answers once every step is finished.
DONE = "done"
# Outcomes after which an object is in place for the next step.
_DONE_OUTCOMES = (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.REUSED)

TITLES: dict[str, Promise] = {
    "store": _("Choose the data store"),
    "app": _("OAuth application"),
    "authorize": _("Connect to the provider"),
    "profile": _("Save the connection"),
    "datasource": _("Create the data source"),
    "verify": _("Check it works"),
    # The optional last page after the check passed (not in STEP_ORDER: "Only me" needs no visit).
    "share": _("Who can use it"),
}
SHORT: dict[str, Promise] = {
    "store": _("Data store"),
    "app": _("Application"),
    "authorize": _("Connect"),
    "profile": _("Profile"),
    "datasource": _("Data source"),
    "verify": _("Check"),
}


@dataclass(frozen=True)
class Progress:
    """Where a run stands, read once per request: the run's fields plus its ``RemoteObject`` rows
    (one query, or none when they were prefetched with ``prefetch_related("objects_made")``)."""

    step: str  # the first unfinished step, or DONE
    objects: dict[str, RemoteObject]

    @classmethod
    def of(cls, run: Run) -> Progress:
        objects = {obj.kind: obj for obj in run.objects_made.all()}

        def done(kind: str) -> bool:
            return kind in objects and objects[kind].outcome in _DONE_OUTCOMES

        finished = {
            "store": run.datastore_id is not None,
            "app": done(RemoteObject.Kind.APP),
            "authorize": bool(run.tokens_enc) or done(RemoteObject.Kind.PROFILE),
            "profile": done(RemoteObject.Kind.PROFILE),
            "datasource": done(RemoteObject.Kind.DATASOURCE),
            "verify": run.verify_ok is True,
        }
        step = next((s for s in STEP_ORDER if not finished[s]), DONE)
        return cls(step, objects)

    @property
    def current(self) -> str:
        """The first unfinished step; ``verify`` once everything is done (the page shows the result)."""
        return "verify" if self.step == DONE else self.step

    def is_done(self, step: str) -> bool:
        return self.step == DONE or STEP_ORDER.index(step) < STEP_ORDER.index(self.step)

    def can_enter(self, step: str) -> bool:
        """Finished steps and the first unfinished one may be opened; nothing past it."""
        if step not in STEP_ORDER:
            return False
        return self.step == DONE or STEP_ORDER.index(step) <= STEP_ORDER.index(self.step)

    @property
    def profile_in_play(self) -> bool:
        """Whether the run has (or may have) an OAuth profile in HDP (as ``engine.profile_in_play``)."""
        profile = self.objects.get(RemoteObject.Kind.PROFILE)
        return profile is not None and profile.outcome not in (
            RemoteObject.Outcome.FAILED,
            RemoteObject.Outcome.DELETED,
        )

    def remote(self, kind: str) -> RemoteObject | None:
        """The run's record of its ``kind`` object (as ``Run.remote``, without another query)."""
        return self.objects.get(kind)


def current(run: Run) -> str:
    return Progress.of(run).current


def is_done(run: Run, step: str) -> bool:
    return Progress.of(run).is_done(step)


def can_enter(run: Run, step: str) -> bool:
    return Progress.of(run).can_enter(step)


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


def stepper(run: Run | None, current: str, progress: Progress | None = None) -> list[StepperItem]:
    """The step list at the top of every page (``progress``: already read for this request).
    Once every step is finished no step is "current": the list shows the whole setup done."""
    items = []
    if run is not None and progress is None:
        progress = Progress.of(run)
    finished = progress is not None and progress.step == DONE
    for number, key in enumerate(STEP_ORDER, start=1):
        done = run is not None and progress is not None and progress.is_done(key)
        state = "current" if key == current and not finished else ("done" if done else "next")
        url = None
        if run is not None and progress is not None and state != "current" and progress.can_enter(key):
            url = step_url(run, key)
        items.append(StepperItem(key, number, SHORT[key], state, done, url))
    return items
