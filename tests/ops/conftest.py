"""Fixtures for tests/ops: the in-process HDP emulator of the view tests."""

from __future__ import annotations

from tests.helpers.wizard import acme, hdp_log  # noqa: F401
