from __future__ import annotations

from tests.helpers.wizard import acme, globex, hdp_log  # noqa: F401
