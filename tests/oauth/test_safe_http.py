"""SECURITY.md item 12: resolve once, refuse non-public addresses, connect to the checked address."""

from __future__ import annotations

import socket

import pytest
import requests
import urllib3.util.connection

from portal.oauth import safe_http
from portal.oauth.safe_http import BlockedDestination, safe_session


def _resolving_to(monkeypatch, *answers):
    calls = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        answer = answers[min(len(calls), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in answer
        ]

    monkeypatch.setattr(safe_http.socket, "getaddrinfo", fake)
    return calls


@pytest.fixture
def connects(monkeypatch):
    """Record every socket urllib3 would open, and open none."""
    seen = []

    def fake_create_connection(address, *args, **kwargs):
        seen.append(address)
        raise OSError("test: no network")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", fake_create_connection)
    return seen


@pytest.mark.parametrize(
    "ips",
    [
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["192.168.1.1"],
        ["100.64.0.1"],
        ["0.0.0.0"],
        ["93.184.215.14", "10.0.0.5"],  # every address must be public, not only the first
        ["::ffff:10.0.0.5"],  # IPv4-mapped (Python 3.11's is_global misses this)
        ["fd00::1"],
        ["fe80::1"],
        ["224.0.0.1"],
    ],
)
def test_private_answers_are_refused_before_connecting(monkeypatch, connects, settings, ips):
    settings.OAUTH_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, ips)
    with pytest.raises(BlockedDestination):
        safe_session().post("https://token.example.com/token", data={"code": "x"}, timeout=1)
    assert connects == []


@pytest.mark.parametrize("ips", [["127.0.0.1"], ["::1"]])
def test_loopback_refused_unless_allowed(monkeypatch, connects, settings, ips):
    settings.OAUTH_ALLOW_LOOPBACK = False
    _resolving_to(monkeypatch, ips)
    with pytest.raises(BlockedDestination):
        safe_session().get("http://localhost:9090/token", timeout=1)
    settings.OAUTH_ALLOW_LOOPBACK = True
    assert safe_http.resolve_checked("localhost", 9090) == ips[0]


def test_connects_to_the_checked_address_with_the_name_for_host_and_tls(monkeypatch, connects):
    calls = _resolving_to(monkeypatch, ["93.184.215.14"], ["10.0.0.5"])  # rebinding on 2nd lookup
    with pytest.raises(requests.exceptions.ConnectionError) as excinfo:
        safe_session().post("https://token.example.com/oauth/token", data={"a": "b"}, timeout=1)
    assert not isinstance(excinfo.value, BlockedDestination)
    assert calls == ["token.example.com"]  # resolved exactly once
    assert connects == [("93.184.215.14", 443)]  # the pinned address, not a second lookup


def test_pool_key_pins_ip_and_keeps_the_name_for_sni(monkeypatch):
    _resolving_to(monkeypatch, ["93.184.215.14"])
    adapter = safe_http.PinnedIPAdapter()
    request = requests.Request("POST", "https://token.example.com/oauth/token", data={"a": "b"}).prepare()
    adapter._pins[("token.example.com", 443)] = safe_http.resolve_checked("token.example.com", 443)
    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert host_params["host"] == "93.184.215.14"
    assert pool_kwargs["server_hostname"] == "token.example.com"
    assert pool_kwargs["assert_hostname"] == "token.example.com"
    assert pool_kwargs["cert_reqs"] == "CERT_REQUIRED"


def test_unchecked_destination_is_refused():
    adapter = safe_http.PinnedIPAdapter()
    request = requests.Request("GET", "https://token.example.com/").prepare()
    with pytest.raises(BlockedDestination):
        adapter.build_connection_pool_key_attributes(request, True)


def test_host_header_carries_the_name(monkeypatch, connects):
    _resolving_to(monkeypatch, ["93.184.215.14"])
    session = safe_session()
    prepared = session.prepare_request(requests.Request("GET", "https://token.example.com:443/x"))
    with pytest.raises(requests.exceptions.ConnectionError):
        session.send(prepared, timeout=1)
    assert prepared.headers["Host"] == "token.example.com"


def test_session_follows_no_redirect_and_ignores_proxy_env(monkeypatch):
    session = safe_session()
    assert session.max_redirects == 0
    assert session.trust_env is False
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    _resolving_to(monkeypatch, ["10.0.0.1"])
    with pytest.raises(BlockedDestination):
        session.get("https://token.example.com/", proxies={"https": "http://10.0.0.1:3128"}, timeout=1)


def test_sessions_share_one_pool_per_process_and_reuse_a_connection(monkeypatch, settings):
    """Token calls of different requests reuse one kept-alive connection (one pool per process);
    closing a session does not close the shared pool."""
    import http.server
    import threading

    settings.OAUTH_ALLOW_LOOPBACK = True
    _resolving_to(monkeypatch, ["127.0.0.1"])
    accepted: list[object] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def setup(self) -> None:
            accepted.append(self.client_address)
            super().setup()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"access_token": "a"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/token"
    try:
        first, second = safe_session(), safe_session()
        assert first.get_adapter(url) is second.get_adapter(url) is safe_http.shared_adapter()
        assert first.post(url, data={"a": "b"}, timeout=5).json() == {"access_token": "a"}
        first.close()
        assert second.post(url, data={"a": "b"}, timeout=5).status_code == 200
        assert len(accepted) == 1  # the second call went over the first call's connection
    finally:
        safe_http.shared_adapter().poolmanager.clear()  # close the kept-alive connection: its server thread ends
        server.shutdown()
        server.server_close()
