"""The step engine: every HDP write a run makes goes through here (SECURITY.md items 30-33).

Why it looks the way it does (details in each module):

* **Intent first; classify, then act; never adopt what this run did not create**: ``reconcile``.
* **One runner per run**: ``lease``. A short lease on ``Run.busy_until`` (conditional UPDATE) lets
  exactly one request do HDP work for a run; a double submit gets ``StepBusy`` and makes no HDP call.
* **Explicit inputs.** Each step takes what the admin asked for as a typed value (``AppSettings``,
  ``ReusedApp``, ``ProfileSettings``, ``DataSourceSettings``; secrets as separate arguments),
  records it on the run under its own lease, and returns or raises. ``None`` means "what the run
  already holds" (resume). Views never write the run's step columns themselves.
* **Minimal custody.** The client secret is held (encrypted) until the consent's token exchange;
  tokens until the profile exists; both when the run completes, is cancelled, or is abandoned (``purge_abandoned``).
* **Resume over compensation.** A failure keeps what exists; ``cancel`` is the explicit, idempotent
  compensation and deletes, newest first, only what this run recorded as created.

Where a run stands in the wizard is not the engine's business: see ``portal.onboarding.wizard``.
Import the package (``from portal.onboarding import engine``) and call ``engine.ensure_app(...)``:
that one name is the seam tests patch.
"""

from __future__ import annotations

from portal.onboarding.engine.app import AppSettings, ReusedApp, ensure_app, update_app
from portal.onboarding.engine.cancel import cancel
from portal.onboarding.engine.datasource import DataSourceSettings, claim_ds_name, ensure_datasource, verify
from portal.onboarding.engine.errors import (
    MissingTokens,
    NameTaken,
    ReconcileConflict,
    SecretRequired,
    StepBusy,
    StepError,
    StepNotReady,
)
from portal.onboarding.engine.lease import lease
from portal.onboarding.engine.profile import ProfileSettings, ensure_profile, profile_body
from portal.onboarding.engine.reconcile import reconcile

__all__ = [
    "profile_body",
    "AppSettings",
    "DataSourceSettings",
    "MissingTokens",
    "NameTaken",
    "ProfileSettings",
    "ReconcileConflict",
    "ReusedApp",
    "SecretRequired",
    "StepBusy",
    "StepError",
    "StepNotReady",
    "cancel",
    "claim_ds_name",
    "ensure_app",
    "ensure_datasource",
    "ensure_profile",
    "lease",
    "reconcile",
    "update_app",
    "verify",
]
