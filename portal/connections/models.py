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

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.connections.status import Cause, LastCheck, State
from portal.lib.choices import ChoiceDisplayMixin


class ConnectionCheck(ChoiceDisplayMixin, models.Model):
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


class HealthSchedule(models.Model):
    """When a completed setup is next due for its scheduled check (one row per setup).

    A scheduler *claims* a due row with a conditional ``UPDATE ... WHERE next_due_at <= now`` that
    moves ``next_due_at`` a lease ahead and writes a fresh ``claim``; only one scheduler can win a
    row, on SQLite and PostgreSQL alike. The task carries the claim and does nothing if the row was
    claimed again since (its lease ran out), so a setup is never checked twice for one round.
    """

    run = models.OneToOneField(
        "onboarding.Run", on_delete=models.CASCADE, primary_key=True, related_name="health_schedule"
    )
    next_due_at = models.DateTimeField(db_index=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.run_id} due {self.next_due_at:%Y-%m-%d %H:%M}"


class HdpOutage(models.Model):
    """The HDP server's recent failures (5xx, timeouts): checks wait until ``retry_at`` (backoff)."""

    base_url = models.CharField(max_length=500, unique=True)
    failures = models.IntegerField(default=0)
    down_since = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.base_url}: {self.failures} failures"


class NotificationPreference(models.Model):
    """A person's choice about e-mails on a change of a setup's status (on unless turned off)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_enabled = models.BooleanField(default=True)
    #: Where to send them; empty means the address on the person's account (HDP gives none).
    email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return f"{self.user_id} e-mails {'on' if self.email_enabled else 'off'}"


class Notification(models.Model):
    """One change of a setup's status (broke or recovered), found by one check, told once; or one
    warning that its sign-in will lapse (``expiring``, issue 22: portal/connections/foresight.py),
    found by a scheduler round and told once per ``key`` (setup, expected end and offset)."""

    class Kind(models.TextChoices):
        BROKE = "broke", "Stopped working"
        RECOVERED = "recovered", "Working again"
        EXPIRING = "expiring", "Sign-in will lapse"

    class Email(models.TextChoices):
        PENDING = "pending", "To send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Could not be sent"
        OPTED_OUT = "opted_out", "Not sent: the owner turned e-mails off"
        NO_ADDRESS = "no_address", "Not sent: the owner has no e-mail address"
        CLOSED = "closed", "Not sent: reconnected, cancelled or deleted before it went out"

    run = models.ForeignKey("onboarding.Run", on_delete=models.CASCADE, related_name="notifications")
    #: The check that found a change; None for an ``expiring`` warning (a scheduler round found it).
    found_by = models.OneToOneField(
        ConnectionCheck, on_delete=models.CASCADE, related_name="notification", null=True, blank=True
    )
    #: An ``expiring`` warning's once-only key ("expiring:<run>:<end>:<offset seconds>"): recorded
    #: before anything is sent, so two schedulers or a repeated round never tell it twice.
    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    #: The sign-in's expected end the warning is about.
    expected_end = models.DateTimeField(null=True, blank=True)
    #: When a reconnect (a new expected end) made the warning moot.
    closed_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    previous_state = models.CharField(max_length=24, choices=State.choices, blank=True)
    state = models.CharField(max_length=24, choices=State.choices)
    cause = models.CharField(max_length=32, choices=Cause.choices, blank=True)
    created_at = models.DateTimeField()
    email_status = models.CharField(max_length=16, choices=Email.choices)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    #: Why it was not sent (the exception's class, never its text: it may quote the address).
    email_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class WebhookDelivery(models.Model):
    """The deployment's webhook told of one notification; each attempt's outcome is kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Given up"

    #: The health notification told of, or None for another event (``event`` holds its body).
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    #: The body of an event that is not a health notification (``handoff.completed`` /
    #: ``handoff.refused``: portal/connections/handoff.py); never a link, token or secret.
    event = models.JSONField(null=True, blank=True)
    #: The host the webhook went to (not the full URL: its path or query may carry a token).
    host = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    #: The HTTP status of the last answer, None when there was none (timeout, refused).
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.notification_id} -> {self.host}: {self.status} after {self.attempts}"


class Repair(ChoiceDisplayMixin, models.Model):
    """One repair of a completed setup whose part was deleted or unlinked in HDP (portal/connections/repair.py).

    Open (``finished_at`` empty) from the admin's confirmation until every HDP change is made, so a
    repair interrupted by a consent at the provider, a timeout or a closed tab resumes where it
    stopped. At most one open repair per setup (a partial unique constraint). ``changes`` lists what
    the repair did in HDP, in order (``{"action": ..., "id": ..., "name": ...}``); never a secret.
    """

    run = models.ForeignKey("onboarding.Run", on_delete=models.CASCADE, related_name="repairs")
    #: What the check found (a ``Cause``: app_missing, profile_missing, datasource_missing...).
    cause = models.CharField(max_length=32, choices=Cause.choices)
    requested_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    #: The ids HDP had before the repair (the deleted profile's, to find other data sources using it).
    old_app_id = models.IntegerField(null=True, blank=True)
    old_profile_id = models.IntegerField(null=True, blank=True)
    #: Other data sources of the admin the repair also points at the new profile (the admin chose them).
    also_repoint = models.JSONField(default=list, blank=True)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run"], condition=Q(finished_at__isnull=True), name="connections_one_open_repair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_id} repair of {self.cause} {'open' if self.finished_at is None else 'done'}"
