"""A standalone WSGI server for the emulator alone (``manage.py hdp_emulator --port N``).

Why: a portal developer can point ``HDP_BASE_URL`` at a separate process (closer to a real HDP: another
port, its own failures) and ``curl -u d2cadmin:... http://127.0.0.1:N/api/mgmt/oauthapps`` works at the root.
A threaded wsgiref server is enough for a sandbox and adds no dependency.
"""

from __future__ import annotations

import socketserver
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import connections

from portal.sandbox.hdp import emulator
from portal.sandbox.hdp.views import to_httpx, wire_body

StartResponse = Callable[..., Any]

_HEADERS = {"HTTP_AUTHORIZATION": "Authorization", "CONTENT_TYPE": "Content-Type", "HTTP_ACCEPT": "Accept"}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {name: environ[key] for key, name in _HEADERS.items() if environ.get(key)}
        request = to_httpx(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO") or "/",
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
        response = emulator.handle(request)
    finally:
        # Each server thread has its own Django connections; close them rather than leak one per thread.
        connections.close_all()
    reason = {200: "OK", 201: "Created", 204: "No Content"}.get(response.status_code, response.reason_phrase)
    out_headers = [
        (k, v)
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "transfer-encoding")
    ]
    body = wire_body(response)
    if response.status_code == 204:
        out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-type"]
    else:
        out_headers.append(("Content-Length", str(len(body))))
    start_response(f"{response.status_code} {reason}", out_headers)
    return [body]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    """The emulator logs method, path and status itself; wsgiref's line would add the query string."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def build_server(host: str, port: int) -> ThreadingWSGIServer:
    server = make_server(
        host, port, application, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    assert isinstance(server, ThreadingWSGIServer)
    return server
