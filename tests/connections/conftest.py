"""The step engine's fixtures (seeded emulator in-process, an Acme admin, a run factory)."""

from __future__ import annotations

from tests.steps.conftest import admin, hdp_client, make_run  # noqa: F401 (pytest fixtures)
