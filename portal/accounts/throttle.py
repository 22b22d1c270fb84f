"""Sign-in throttle (SECURITY.md item 34): failed sign-ins are counted per user name, per client
address and in total, in the database (``portal.ratelimit``), and a blocked sign-in is refused
*before* HDP is asked, so the portal is no password oracle for HDP accounts and never drives an
HDP account into HDP's own lock-out.

The answer to a blocked sign-in is the same whether or not the user name exists in HDP: the
counters are keyed on the name as typed (lower-case), never on an HDP lookup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from portal.lib.events import fingerprint, security_event
from portal.ratelimit import limiter


@dataclass(frozen=True)
class Counter:
    scope: str  # "user", "client" or "all"
    key: str
    limit: int


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_HOPS`` = N the address N hops
    from the right of ``X-Forwarded-For`` (the one the outermost trusted proxy saw)."""
    hops = int(getattr(settings, "TRUSTED_PROXY_HOPS", 0))
    if hops > 0:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(chain) >= hops:
            return str(chain[-hops])
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _counters(request: HttpRequest, username: str) -> list[Counter]:
    name = username.strip().lower()
    return [
        Counter("user", f"login:user:{_digest(name)}", settings.LOGIN_THROTTLE_PER_USER),
        Counter(
            "client", f"login:client:{_digest(client_address(request))}", settings.LOGIN_THROTTLE_PER_CLIENT
        ),
        Counter("all", "login:all", settings.LOGIN_THROTTLE_GLOBAL),
    ]


def blocked_until(request: HttpRequest, username: str) -> datetime | None:
    """When this sign-in may be tried again, or None if it may be tried now (no HDP call here)."""
    ends = [
        until for c in _counters(request, username) if c.limit > 0 and (until := limiter.blocked_until(c.key))
    ]
    return max(ends) if ends else None


def record_failure(request: HttpRequest, username: str) -> None:
    """Count a refused password; log one security event each time a counter starts a block."""
    for counter in _counters(request, username):
        if counter.limit <= 0:
            continue
        failure = limiter.record_failure(
            counter.key,
            limit=counter.limit,
            window_seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS,
            base_seconds=settings.LOGIN_THROTTLE_BASE_SECONDS,
            max_seconds=settings.LOGIN_THROTTLE_MAX_SECONDS,
        )
        if failure.newly_blocked and failure.blocked_until is not None:
            security_event(
                "login_throttled",
                request,
                scope=counter.scope,
                username=fingerprint(username.strip().lower()),
                client=fingerprint(client_address(request)),
                failures=failure.count,
                wait_seconds=int((failure.blocked_until - timezone.now()).total_seconds() + 0.5),
            )


def record_success(username: str) -> None:
    """A right password resets the counter of that user name (not the client's, nor the total)."""
    limiter.forget(f"login:user:{_digest(username.strip().lower())}")
