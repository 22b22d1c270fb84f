"""Run an independent OAuth 2.0 / OpenID Connect server (npm ``oidc-provider``) for a test.

    from tests.helpers.oidc import start_oidc_provider

    with start_oidc_provider(redirect_uri=live_server.url + "/oauth/callback/Sandbox_app/") as idp:
        ...  # idp.authorize_uri, idp.token_uri, idp.client_id, idp.client_secret

The server is ``tests/js/oidc_server.mjs`` run with ``node`` directly (not ``npx``: killing npx's
pid leaves node running). Its dev login page accepts any login and password; it issues a refresh
token only when the request asks for ``offline_access`` *and* ``prompt=consent`` (docs/testing.md).
Redirect URIs must match exactly, so start it after the live server is up.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin

import requests

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SERVER_SCRIPT = JS_DIR / "oidc_server.mjs"
READY_TIMEOUT_SECONDS = 10.0

DEFAULT_CLIENT_ID = "portal"
DEFAULT_CLIENT_SECRET = "portal-secret"


class OidcServerError(RuntimeError):
    """The server could not be started; the message carries its output."""


@dataclass
class OidcServer:
    """A running oidc-provider on 127.0.0.1; a context manager that stops it on exit."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    process: subprocess.Popen[str] = field(repr=False)
    output: collections.deque[str] = field(repr=False)

    @property
    def authorize_uri(self) -> str:
        return self.issuer + "/auth"

    @property
    def token_uri(self) -> str:
        return self.issuer + "/token"

    @property
    def revocation_uri(self) -> str:
        return self.issuer + "/token/revocation"

    @property
    def port(self) -> int:
        return int(self.issuer.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> OidcServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_oidc_provider(
    redirect_uri: str | list[str],
    port: int | None = None,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    token_auth: str = "client_secret_basic",
) -> OidcServer:
    """Start ``oidc_server.mjs`` and wait (up to 10 s) until it prints ``ready``.

    ``redirect_uri`` is registered for the one client exactly as given (a list registers several).
    ``token_auth`` is the client's registered ``token_endpoint_auth_method``; with
    ``client_secret_post`` the server refuses HTTP Basic with 401 invalid_client (oidc_server.mjs).
    With ``port=None`` a free port is picked, and picked again once if it was taken in between.
    """
    node = shutil.which("node")
    if node is None:
        raise OidcServerError("node is not installed (run scripts/install-test-deps.sh).")
    if not (JS_DIR / "node_modules" / "oidc-provider").is_dir():
        raise OidcServerError(f"{JS_DIR}/node_modules is missing (run scripts/install-test-deps.sh).")
    uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)

    attempts = 1 if port is not None else 2
    error: OidcServerError | None = None
    for _ in range(attempts):
        try:
            return _start(node, uris, port or free_port(), client_id, client_secret, token_auth)
        except OidcServerError as exc:
            error = exc
            if "EADDRINUSE" not in str(exc):
                break
    assert error is not None
    raise error


def _start(
    node: str, uris: list[str], port: int, client_id: str, client_secret: str, token_auth: str
) -> OidcServer:
    env = {
        **os.environ,
        "PORT": str(port),
        "REDIRECT_URI": ",".join(uris),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "TOKEN_AUTH": token_auth,
    }
    process = subprocess.Popen(
        [node, str(SERVER_SCRIPT)],
        cwd=JS_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output: collections.deque[str] = collections.deque(maxlen=200)
    ready = threading.Event()

    def drain() -> None:
        # Keep reading for the whole life of the process so a full pipe never blocks node.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if line.strip() == "ready":
                ready.set()

    threading.Thread(target=drain, name=f"oidc-provider:{port}", daemon=True).start()

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready.wait(timeout=0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            exited = process.poll() is not None
            if not exited:
                process.kill()
                process.wait(timeout=5)
            time.sleep(0.05)  # let the reader thread collect the last lines
            what = f"exited with {process.returncode}" if exited else "did not print 'ready' within 10 s"
            raise OidcServerError(f"oidc-provider on port {port} {what}:\n" + "\n".join(output))

    return OidcServer(
        issuer=f"http://127.0.0.1:{port}",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=uris,
        process=process,
        output=output,
    )


def complete_dev_interactions(
    session: requests.Session,
    authorize_url: str,
    *,
    redirect_uri: str,
    login: str = "alice",
    password: str = "any-password",
    max_steps: int = 12,
) -> str:
    """Walk oidc-provider's dev login and consent pages over plain HTTP.

    Follows redirects by hand from ``authorize_url``, fills the login form, presses the consent
    button, and returns the URL the provider finally redirects to (``redirect_uri?code=...``)
    without requesting it. For tests that need a real server but no browser.
    """
    url = authorize_url
    response = session.get(url, allow_redirects=False, timeout=10)
    for _ in range(max_steps):
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(redirect_uri):
                return url
            response = session.get(url, allow_redirects=False, timeout=10)
            continue
        form = _FormParser.parse(response.text)
        if response.status_code != 200 or form.action is None:
            raise OidcServerError(
                f"unexpected page at {url} ({response.status_code}):\n{response.text[:2000]}"
            )
        data = dict(form.hidden)
        if data.get("prompt") == "login":
            data.update(login=login, password=password)
        url = urljoin(url, form.action)
        response = session.post(url, data=data, allow_redirects=False, timeout=10)
    raise OidcServerError(f"no redirect to {redirect_uri} after {max_steps} steps (last: {url})")


class _FormParser(HTMLParser):
    """The first form of a page: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self._in_form = False
        self._done = False

    @classmethod
    def parse(cls, html: str) -> _FormParser:
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = values.get("action", "")
        elif tag == "input" and self._in_form and values.get("type") == "hidden":
            self.hidden[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True
