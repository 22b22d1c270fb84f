"""The engine's refusals. ``str()`` of each is a plain sentence safe to show the admin."""

from __future__ import annotations


class StepError(Exception):
    """Base of the engine's own refusals. ``str()`` is a plain sentence safe to show the admin."""


class StepBusy(StepError):
    """Another request is already doing HDP work for this run; this one made no HDP call."""


class ReconcileConflict(StepError):
    """More than one HDP object has the name this run used: a person has to decide which is ours."""


class NameTaken(StepError):
    """A same-named object exists that this run did not create. It is never adopted or overwritten."""


class SecretRequired(StepError):
    """The client secret must be (re-)entered: to create the app, or to change its URIs (item 18)."""


class MissingTokens(StepError, ValueError):
    """No usable tokens (no consent yet, or no refresh token): authorize again before the profile."""


class StepNotReady(StepError):
    """An earlier step is unfinished (e.g. a profile without an application)."""
