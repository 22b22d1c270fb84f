"""Stateful emulator of the HDP Management and Administrator APIs (docs/hdp-api.md).

``handle(request) -> response`` is the whole server (faults, then ``api.router``): routing, HTTP Basic auth, ``?user=`` act-on-behalf,
permissions, validation and persistence in the ``hdp_emulator`` models; the handlers live in
``api/`` (one module per resource) and the provider refresh in ``refresh.py``. It speaks httpx so the same core
serves three ways: in-process through ``mock_transport()`` (fast tests), behind the Django view at
``/sandbox/hdp/`` (views.py), and as a standalone server (``manage.py hdp_emulator``). Paths are relative
to the emulator base: the core sees ``/api/mgmt/oauthapps``.

Choices where HDP is silent are marked [U] here and listed in docs/decisions.md under "Emulator".
"""

from __future__ import annotations

import logging
import time

import httpx
from django.conf import settings

from portal.sandbox.hdp import errors, faults
from portal.sandbox.hdp.api import router
from portal.sandbox.hdp.api.common import ADMINISTRATOR, Ctx, authenticate, coerce_int, is_admin
from portal.sandbox.hdp.errors import HdpApiError, bad_request, forbidden, json_response, not_found
from portal.sandbox.hdp.models import Fault

logger = logging.getLogger(__name__)

FAULTS_PATH = "/_faults"


def faults_control(request: httpx.Request) -> httpx.Response:
    """``POST /_faults`` arms a fault (JSON: method, path_regex, kind, status, delay, times);
    ``DELETE`` clears them; ``GET`` lists them. Administrator (12) only; 404 unless faults are enabled."""
    if not settings.SANDBOX_FAULTS_ENABLED:
        raise not_found(errors.NOT_FOUND, f"No such resource: {FAULTS_PATH}")
    caller = authenticate(request)
    if not is_admin(caller):
        raise forbidden(f"User {caller.user_name} lacks the permission(s) Administrator ({ADMINISTRATOR})")
    method = request.method.upper()
    if method == "DELETE":
        return json_response(200, {"cleared": faults.clear()})
    if method == "GET":
        armed = Fault.objects.order_by("id")
        return json_response(
            200,
            {
                "faults": [
                    {"id": f.pk, "method": f.method, "path_regex": f.path_regex, "kind": f.kind,
                     "status": f.status, "delay": f.delay, "remaining": f.remaining}
                    for f in armed
                ]
            },
        )  # fmt: skip
    if method != "POST":
        raise HdpApiError(405, errors.METHOD_NOT_ALLOWED, f"{method} is not supported on {FAULTS_PATH}")
    body = Ctx(request, caller, caller).json()
    try:
        fault = faults.arm(
            str(body.get("method", "*")),
            str(body.get("path_regex", "")),
            str(body.get("kind", "")),
            status=coerce_int(body["status"], "status") if body.get("status") is not None else None,
            delay=float(body["delay"]) if isinstance(body.get("delay"), int | float) else None,
            times=coerce_int(body.get("times", 1), "times"),
        )
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return json_response(201, {"id": fault.pk, "kind": fault.kind, "remaining": fault.remaining})


def apply_fault(fault: Fault, request: httpx.Request, path: str) -> httpx.Response:
    if fault.kind == "status":
        status = fault.status or 500
        return errors.hdp_error(status, errors.EMULATOR_CODE_BASE + status, f"Injected fault: HTTP {status}")
    if fault.kind == "unauthorized":
        return errors.hdp_error(401, errors.UNAUTHORIZED, "Not Authorized")
    if fault.kind == "delay":
        time.sleep(fault.delay or 0)
        return run(request, path)
    # commit_then_drop: the handler's writes are committed; the answer is "lost" behind a 502.
    run(request, path)
    return errors.hdp_error(
        502, errors.EMULATOR_CODE_BASE + 502, "Injected fault: response lost after commit"
    )


def run(request: httpx.Request, path: str) -> httpx.Response:
    try:
        return router.dispatch(request, path)
    except HdpApiError as exc:
        return exc.response()


def handle(request: httpx.Request) -> httpx.Response:
    """Answer one HDP API request. Logs method, path and status only (never bodies or credentials)."""
    path = request.url.path.rstrip("/") or "/"
    try:
        if path == FAULTS_PATH:
            response = faults_control(request)
        else:
            fault = faults.take(request.method, path)
            response = apply_fault(fault, request, path) if fault else run(request, path)
    except HdpApiError as exc:
        response = exc.response()
    logger.info("hdp-emulator %s %s %s", request.method, path, response.status_code)
    return response


def mock_transport() -> httpx.MockTransport:
    """In-process transport for tests: ``httpx.Client(transport=mock_transport(), base_url="http://hdp")``."""
    return httpx.MockTransport(handle)
