"""Fault injection for the emulator: make HDP fail on purpose, once or a few times.

Why: the portal must survive a slow HDP, an HDP that errors, and the nastiest case, a create that
committed but whose answer was lost (``commit_then_drop``), which is what the portal's intent rows and
reconcile step exist for. Faults live in the database so a test process can arm them in a server
process (live server, ``manage.py hdp_emulator``). They only fire when ``settings.SANDBOX_FAULTS_ENABLED``.

Kinds (docs/architecture.md, Contracts):

* ``status``: answer ``status`` with an HDP error body and do nothing else.
* ``delay``: sleep ``delay`` seconds, then handle the request normally.
* ``commit_then_drop``: handle the request (its writes commit), then answer 502 with an HDP error body.
* ``unauthorized``: answer 401 as if the credentials were wrong.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import F

from portal.sandbox.hdp.models import Fault

KINDS = Fault.KINDS
MAX_DELAY_SECONDS = 60.0


def arm(
    method: str,
    path_regex: str,
    kind: str,
    *,
    status: int | None = None,
    delay: float | None = None,
    times: int = 1,
) -> Fault:
    """Arm a fault for the next ``times`` requests whose method and path match.

    ``method`` is an HTTP method or ``"*"``; ``path_regex`` is searched (``re.search``) in the path
    relative to the emulator base, e.g. ``r"^/api/mgmt/oauthapps$"``. Raises ``ValueError`` on a bad
    combination, so the control endpoint and Python callers share one validation.
    """
    method = method.upper()
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    try:
        re.compile(path_regex)
    except re.error as exc:
        raise ValueError(f"path_regex does not compile: {exc}") from exc
    if kind == "status" and (status is None or not 400 <= status <= 599):
        raise ValueError("a 'status' fault needs status between 400 and 599")
    if kind == "delay" and (delay is None or not 0 <= delay <= MAX_DELAY_SECONDS):
        raise ValueError(f"a 'delay' fault needs delay between 0 and {MAX_DELAY_SECONDS:g} seconds")
    if times < 1:
        raise ValueError("times must be at least 1")
    return Fault.objects.create(
        method=method, path_regex=path_regex, kind=kind, status=status, delay=delay, remaining=times
    )


def clear() -> int:
    """Disarm every fault; returns how many were armed."""
    count, _ = Fault.objects.all().delete()
    return count


def take(method: str, path: str) -> Fault | None:
    """The oldest armed fault matching this request, consumed once; ``None`` if none fires.

    The decrement is a conditional UPDATE, so two concurrent requests never both consume the last shot.
    """
    if not settings.SANDBOX_FAULTS_ENABLED:
        return None
    for fault in Fault.objects.filter(remaining__gt=0).order_by("id"):
        if fault.method not in ("*", method.upper()) or not re.search(fault.path_regex, path):
            continue
        if Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            Fault.objects.filter(pk=fault.pk, remaining__lte=0).delete()
            return fault
    return None
