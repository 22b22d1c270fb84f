"""The support console's pages are tested at the portal's base URL ``http://portal.test``."""

from __future__ import annotations

import pytest


@pytest.fixture
def _portal_test_base_url(settings):
    settings.PORTAL_BASE_URL = "http://portal.test"


@pytest.fixture
def hdp_log(_portal_test_base_url, hdp_log):
    """The emulator of tests/helpers/wizard.py with its request log, the portal at ``http://portal.test``."""
    return hdp_log
