"""A standalone WSGI server for the emulator alone (``manage.py hdp_emulator --port N``).

Why: a portal developer can point ``HDP_BASE_URL`` at a separate process (closer to a real HDP: another
port, its own failures) and ``curl -u d2cadmin:... http://127.0.0.1:N/api/mgmt/oauthapps`` works at the root.
A threaded wsgiref server is enough for a sandbox and adds no dependency.

Its request threads are reused (a pool that grows only when every thread is busy, up to
``MAX_THREADS``), and each keeps its database connection as Django's own request cycle does
(``CONN_MAX_AGE``, health checks): a fresh thread per request opened a new database connection per
HDP call, which with PostgreSQL cost more than the emulator's own work (about 10-15 ms a call).
"""

from __future__ import annotations

import concurrent.futures
import socket
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import close_old_connections

from portal.sandbox.hdp import emulator
from portal.sandbox.hdp.views import to_httpx, wire_body

StartResponse = Callable[..., Any]

_HEADERS = {"HTTP_AUTHORIZATION": "Authorization", "CONTENT_TYPE": "Content-Type", "HTTP_ACCEPT": "Accept"}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    # Before and after each request, as Django's handlers do: a connection past CONN_MAX_AGE (0: every
    # request) or left unusable is closed; otherwise this thread keeps it for its next request.
    close_old_connections()
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
        close_old_connections()
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


#: At most this many requests are handled at once (the rest wait in the pool's queue): more than
#: the portal's gunicorn threads (3 workers x 32) plus the bench's 50 hung calls.
MAX_THREADS = 160


class ThreadingWSGIServer(WSGIServer):
    """Each request on a thread of a pool (idle threads are reused, so their database connections
    are too); ``server_close`` stops the pool without waiting for requests still running."""

    allow_reuse_address = True
    # socketserver's default backlog of 5 overflowed when the support chain sent its 8 reads at once
    # (each call is its own connection): the kernel dropped the SYN and the client's retry came 1 s later.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = concurrent.futures.ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="hdp-emulator")

    def process_request(self, request: socket.socket, client_address: Any) -> None:  # type: ignore[override]
        self._pool.submit(self._handle, request, client_address)

    def _handle(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


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
