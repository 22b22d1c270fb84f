"""Page tests of portal.connections: the portal's view fixtures (emulator with a request log, signed-in admins)."""

from __future__ import annotations

from tests.helpers.wizard import acme, globex, hdp_log  # noqa: F401 (pytest fixtures)
