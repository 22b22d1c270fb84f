from __future__ import annotations

from tests.wizard.fixtures import acme, globex, hdp_log  # noqa: F401
