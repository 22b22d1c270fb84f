"""Page tests of portal.connections: the portal's view fixtures (emulator with a request log, signed-in admins)."""

from __future__ import annotations

from tests.wizard.fixtures import acme, globex, hdp  # noqa: F401 (pytest fixtures)
