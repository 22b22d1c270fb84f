"""The history of real checks of a completed setup's connection (one row per check).

A row is written when a check starts (``finished_at`` empty: the setup shows *checking*) and
completed when it ends. At most one unfinished row per setup exists at a time (a partial unique
constraint), so two checks of one setup never run together, on any number of instances. A check
whose process died leaves an unfinished row; once ``expires_at`` passes it counts as abandoned and
the next check replaces it, so no setup stays *checking* forever.

No column holds a token, a secret or HDP's raw text: only the classified state and cause, HDP's
error code and the provider's OAuth error code (``invalid_grant``...).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from portal.connections.status import Cause, LastCheck, State


class ConnectionCheck(models.Model):
    class Trigger(models.TextChoices):
        SETUP = "setup", "The wizard's final check"
        MANUAL = "manual", "Checked by its owner"
        SUPPORT = "support", "Checked by support staff"
        SCHEDULED = "scheduled", "Scheduled check"
        RECONNECT = "reconnect", "After a reconnect"
        REPAIR = "repair", "After a repair"

    run = models.ForeignKey("onboarding.Run", on_delete=models.CASCADE, related_name="checks")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    #: Who asked for it (HDP user name), "" for the scheduler.
    requested_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField()
    #: An unfinished check older than this was abandoned (its worker died): see the module docstring.
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    abandoned = models.BooleanField(default=False)
    state = models.CharField(max_length=24, choices=State.choices, blank=True)
    cause = models.CharField(max_length=32, choices=Cause.choices, blank=True)
    #: HDP's error code when an HDP call of the check failed.
    hdp_code = models.CharField(max_length=32, blank=True)
    #: The OAuth error code the provider answered HDP's refresh with, when HDP's text carried one.
    provider_error = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["run", "-finished_at"], name="connections_run_finished")]
        constraints = [
            models.UniqueConstraint(
                fields=["run"], condition=Q(finished_at__isnull=True), name="connections_one_running_check"
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.trigger} {self.state or 'running'} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def counts(self) -> bool:
        """A finished, not abandoned check: one whose result the status may show."""
        return self.finished_at is not None and not self.abandoned and bool(self.state)

    def as_last(self) -> LastCheck:
        assert self.finished_at is not None
        return LastCheck(State(self.state), Cause(self.cause), self.finished_at)
