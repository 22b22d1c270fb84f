"""HDP error codes and the error body (docs/hdp-api.md §7).

Documented codes are used where HDP documents one. Where HDP documents none ([U]: 401, 403, generic 400
validation, 404 for a path with no resource, 405), the emulator uses ``222200000 + HTTP status`` so a
reader can tell at a glance that the code is the emulator's choice (docs/decisions.md, "Emulator").
"""

from __future__ import annotations

import json
from typing import Any

import httpx

# Documented (docs/hdp-api.md §7).
DS_INVALID_OPTION = 222207002
DS_CONNECT_FAILED = 222207003
DS_NOT_FOUND = 222207004
DS_BAD_CONNECTION_TYPE = 222207005
INVALID_JSON = 222207007
DS_CONNECTION_TYPE_IMMUTABLE = 222207008
DS_MISSING_CONNECTION_TYPE = 222207010
DS_INVALID_ID = 222207011
INVALID_PROFILE_ID = 222207710
INVALID_APP_ID = 222207711
TENANT_NOT_FOUND = 222208573

# [U] Emulator-chosen: 222200000 + HTTP status.
EMULATOR_CODE_BASE = 222200000
BAD_REQUEST = EMULATOR_CODE_BASE + 400
UNAUTHORIZED = EMULATOR_CODE_BASE + 401
FORBIDDEN = EMULATOR_CODE_BASE + 403
NOT_FOUND = EMULATOR_CODE_BASE + 404
METHOD_NOT_ALLOWED = EMULATOR_CODE_BASE + 405


def json_response(status: int, body: Any = None) -> httpx.Response:
    """A JSON response; ``body=None`` gives an empty body (the 204 deletes)."""
    if body is None:
        return httpx.Response(status)
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def error_body(code: int, message: str) -> dict[str, Any]:
    """The HDP error shape; ``code`` is an integer (docs/hdp-api.md §7 [C], the emulator picks int)."""
    return {"error": {"code": code, "message": {"lang": "en-US", "value": message}}}


def hdp_error(status: int, code: int, message: str) -> httpx.Response:
    response = json_response(status, error_body(code, message))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Hybrid Data Pipeline"'
    return response


class HdpApiError(Exception):
    """Raised inside handlers to answer with an HDP error; caught once in ``emulator.handle``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> httpx.Response:
        return hdp_error(self.status, self.code, self.message)


def bad_request(message: str, code: int = BAD_REQUEST) -> HdpApiError:
    return HdpApiError(400, code, message)


def forbidden(message: str) -> HdpApiError:
    return HdpApiError(403, FORBIDDEN, message)


def not_found(code: int, message: str) -> HdpApiError:
    return HdpApiError(404, code, message)
