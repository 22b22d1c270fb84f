"""Django adapter: ``/sandbox/hdp/<path>`` -> ``emulator.handle`` -> Django response.

Why an adapter and not Django views per endpoint: the emulator core speaks httpx so tests can run it
in-process (``mock_transport()``); this view only translates. It is CSRF-exempt (HDP clients send Basic
auth, not cookies) and ``login_not_required`` (the portal's LoginRequiredMiddleware would otherwise
redirect API clients to the portal's login page).
"""

from __future__ import annotations

import httpx
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from portal.sandbox.hdp import emulator

FORWARDED_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept")
FORWARDED_RESPONSE_HEADERS = ("WWW-Authenticate",)


def to_httpx(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> httpx.Request:
    """Build the request the core sees; ``path`` is relative to the emulator base."""
    url = httpx.URL("http://hdp").copy_with(path=path, query=query.encode("latin-1") or None)
    return httpx.Request(method, url, headers=headers, content=body)


def wire_body(response: httpx.Response) -> bytes:
    """What may cross HTTP/1.1: no body on a 204 (RFC 9110 §15.3.5), though the core's deletes carry
    HDP's sample ``{"success": true}``; a client reading a 204 would otherwise leave it in the stream."""
    return b"" if response.status_code == 204 else response.content


@csrf_exempt
@login_not_required
def api(request: HttpRequest, rest: str) -> HttpResponse:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    hdp_request = to_httpx(
        request.method or "GET", "/" + rest, request.META.get("QUERY_STRING", ""), headers, request.body
    )
    hdp_response = emulator.handle(hdp_request)
    response = HttpResponse(
        wire_body(hdp_response),
        status=hdp_response.status_code,
        content_type=hdp_response.headers.get("Content-Type", "application/json"),
    )
    for name in FORWARDED_RESPONSE_HEADERS:
        if name in hdp_response.headers:
            response[name] = hdp_response.headers[name]
    return response
