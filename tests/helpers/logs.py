"""The real console log handler, pointed at a buffer with every relevant logger at DEBUG (SECURITY.md item 17)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from portal.lib.logging import RedactSecretsFilter

#: Loggers the production LOGGING keeps above DEBUG (item 17); tests lower them too, as a worst case.
QUIETED = ("requests_oauthlib", "oauthlib", "urllib3", "httpx", "httpcore")


@pytest.fixture
def console_at_debug() -> Iterator[io.StringIO]:
    """Point the real console handler (with its redaction filter) at a buffer; everything at DEBUG."""
    handlers = {
        h
        for name in ("", "django")
        for h in logging.getLogger(name).handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters) and isinstance(h, logging.StreamHandler)
    }
    assert handlers, "the LOGGING config has no console handler with the redaction filter"
    buffer = io.StringIO()
    saved_streams = {h: h.setStream(buffer) for h in handlers}
    names = ["", "django", "django.request", "portal", "portal.security", "py.warnings", *QUIETED]
    saved_levels = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    for handler, stream in saved_streams.items():
        handler.setStream(stream)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
