"""A tiny local HTTP server for the tests: a webhook receiver and an OAuth token endpoint in one.

``/hook`` records each request (headers and body) and answers ``hook_status`` (after ``hook_delay``
seconds). ``/token`` (after ``token_delay`` seconds, unless reset) plays the provider HDP refreshes with: an access token, or ``invalid_grant``
while ``revoked`` is set (RFC 6749 §5.2).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    hook_status: int = 204
    hook_delay: float = 0.0
    revoked: bool = False
    token_delay: float = 0.0
    hooks: list[Received] = field(default_factory=list)
    token_calls: int = 0


@contextmanager
def serve() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/hook"):
                state.hooks.append(Received(self.path, dict(self.headers.items()), body))
                if state.hook_delay:
                    time.sleep(state.hook_delay)
                self._answer(state.hook_status, b"")
            elif self.path.startswith("/token"):
                state.token_calls += 1
                deadline = time.monotonic() + state.token_delay
                while time.monotonic() < deadline and state.token_delay:
                    time.sleep(0.05)
                if state.revoked:
                    self._answer(400, json.dumps({"error": "invalid_grant"}).encode())
                else:
                    answer = {"access_token": f"access-{state.token_calls}", "token_type": "Bearer"}
                    self._answer(200, json.dumps(answer).encode())
            else:
                self._answer(404, b"")

        def _answer(self, status, body):
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
