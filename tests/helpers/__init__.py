"""Shared test harness: an independent OAuth server (oidc.py) and accessibility checks (axe.py)."""

from __future__ import annotations
