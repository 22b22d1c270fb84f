"""Structured security events: who, tenant, what, when; identifiers hashed, values never logged.

One JSON line per event on the ``portal.security`` logger (SECURITY.md item 19).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from portal.lib.logging import redact

logger = logging.getLogger("portal.security")


def fingerprint(value: str) -> str:
    """A short, stable, non-reversible reference to an identifier (state, session key...)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def security_event(event: str, request: HttpRequest | None = None, **fields: Any) -> None:
    record: dict[str, Any] = {"event": event, "at": timezone.now().isoformat()}
    if request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            record["user"] = user.get_username()
        record["path"] = redact(request.path)  # a handoff link's path is masked at the source
    for key, value in fields.items():
        record[key] = value if isinstance(value, int | bool) or value is None else str(value)[:200]
    logger.warning("security %s", json.dumps(record, sort_keys=True))
