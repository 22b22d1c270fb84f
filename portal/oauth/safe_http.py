"""A requests transport that only talks to public addresses, pinned at connect time (SECURITY.md item 12).

Checking a URI's host name when it is saved is not enough: DNS can answer with a public address at
validation time and ``169.254.169.254`` (cloud metadata) or ``10.x`` a second later ("DNS
rebinding"). So the adapter resolves the name **once**, refuses unless *every* address is global,
and makes urllib3 connect to that checked address while TLS still uses the name for SNI and
certificate matching, and the ``Host`` header still carries the name.

Pattern: override :meth:`HTTPAdapter.build_connection_pool_key_attributes` (requests >= 2.32.2)
so urllib3's pool key is the pinned IP plus ``server_hostname``/``assert_hostname`` = the name,
as Baserow's replacement for the unmaintained ``advocate`` package does (baserow/baserow#4705).
Proxies are refused: a proxy would resolve the name again, on its own.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedDestination(requests.exceptions.ConnectionError):
    """The destination resolves to an address the portal must not contact (private, loopback...)."""


def _address_allowed(address: IPAddress) -> bool:
    # Python 3.11's is_global ignores IPv4-mapped IPv6 (::ffff:10.0.0.5 counts as global there;
    # fixed in 3.13), so look at the embedded IPv4 address ourselves.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return bool(settings.OAUTH_ALLOW_LOOPBACK)
    return address.is_global and not address.is_multicast


def resolve_checked(host: str, port: int) -> str:
    """Resolve ``host`` once; return one address to connect to, or raise BlockedDestination.

    Every address must be allowed, not only the first: a resolver may rotate the answers.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise requests.exceptions.ConnectionError(
            f"cannot resolve {host}: {exc.__class__.__name__}"
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    if not addresses:
        raise requests.exceptions.ConnectionError(f"cannot resolve {host}")
    for address in addresses:
        if not _address_allowed(address):
            raise BlockedDestination(f"{host} resolves to a non-public address; refusing to connect")
    return str(addresses[0])


class PinnedIPAdapter(HTTPAdapter):
    """Resolve, check and pin; then let urllib3 connect to the pinned address."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (host, port) -> checked address, filled by send(). Only checked addresses get in here,
        # so a race between two threads on one adapter cannot smuggle in an unchecked one.
        self._pins: dict[tuple[str, int], str] = {}

    @staticmethod
    def _target(url: str) -> tuple[str, str, int]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        return scheme, host, port

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if proxies and any(proxies.values()):
            raise BlockedDestination("proxies are not allowed for provider calls")
        _, host, port = self._target(request.url or "")
        if not host:
            raise BlockedDestination("no host in URL")
        self._pins[(host, port)] = resolve_checked(host, port)
        # http.client would send "Host: <pinned ip>"; send the name instead (RFC 9110 §7.2).
        request.headers["Host"] = host if port in (80, 443) else f"{host}:{port}"
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=None)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: Any = None
    ) -> Any:  # the stubs' return type uses private TypedDicts that lack the TLS keys we set
        host_params: dict[str, Any]
        pool_kwargs: dict[str, Any]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)  # type: ignore[assignment]
        scheme, host, port = self._target(request.url or "")
        pinned = self._pins.get((host, port))
        if pinned is None:  # not reached through send(): refuse rather than resolve again
            raise BlockedDestination("destination was not checked")
        host_params["host"] = pinned
        if scheme == "https":
            # SNI and certificate verification against the *name*, while the socket goes to `pinned`.
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs


class _ProcessAdapter(PinnedIPAdapter):
    """The process's one pinning adapter: a session's ``close()`` must not close its pools."""

    def close(self) -> None:
        """Sessions come and go; the pools live as long as the process."""


@functools.cache
def shared_adapter() -> PinnedIPAdapter:
    """One pinning adapter per process, so token calls reuse TLS connections (urllib3 keeps one pool
    per pinned address and name). Still safe: every send resolves and checks again before any pool
    is picked, and a pool's key is the address checked for this send (a connection made to an
    address checked earlier is only reused while the name still pins to that same address)."""
    return _ProcessAdapter(max_retries=0)


def harden(session: requests.Session) -> requests.Session:
    """Mount the pinning adapter for http and https, follow no redirect, ignore proxy env vars."""
    adapter = shared_adapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # A 3xx from a token endpoint must not be followed: 307/308 would re-send the code, the verifier
    # and the client secret to wherever Location points (SECURITY.md item 7).
    session.max_redirects = 0
    # HTTPS_PROXY/NO_PROXY and ~/.netrc must not change where secrets go.
    session.trust_env = False
    return session


def safe_session() -> requests.Session:
    return harden(requests.Session())
