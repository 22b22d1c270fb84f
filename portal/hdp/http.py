"""The HTTP plumbing under ``HdpClient``: one configured ``httpx.Client``, retries, error mapping.

One configured ``httpx.Client`` per client (SECURITY.md item 29): ``base_url`` from
settings, TLS verification on (or the ``HDP_CA_BUNDLE`` CA), explicit timeouts, no redirects,
HTTP Basic auth (the only scheme HDP documents for these APIs). Every failure becomes an
``portal.hdp.errors`` exception carrying ``delivery`` (did HDP possibly act?).

One TLS context and one connection pool per process: every client shares one transport
(:func:`shared_transport`), because building a TLS context loads the CA store (about 37 ms of CPU)
and a pool per client reopens a TLS connection per page. Credentials stay per client (``auth=``).

Retries: the transport retries connection failures once (nothing was sent, safe for any method);
GETs get one more try on 502/503/504. A read timeout is never retried: HDP is slow or hung, and a
second wait would double the configured timeout the person waits for. POST/PUT/DELETE are never
retried here: after an unknown outcome the caller reconciles (list + ``portal.hdp.client.find_by_name``).

Logging (logger ``portal.hdp``, INFO): method, path (no query string), status, duration. Never
bodies, credentials, query values or HDP's error text.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import ssl
import time
from typing import Any, Literal, Self, TypeVar

import httpx
from django.conf import settings
from django.utils.module_loading import import_string
from pydantic import BaseModel, TypeAdapter, ValidationError

from portal.hdp import messages
from portal.hdp.errors import (
    Delivery,
    HdpError,
    HdpForbidden,
    HdpNotFound,
    HdpProtocolError,
    HdpRejected,
    HdpUnauthorized,
    HdpUnavailable,
    normalise_code,
)
from portal.lib import metrics, tracing
from portal.lib.logging import register_secret

logger = logging.getLogger("portal.hdp")

M = TypeVar("M", bound=BaseModel)

_RETRY_GET_STATUSES = frozenset({502, 503, 504})
_FIELD_WORDS = re.compile(
    r"\b(names?|named|dataStore|connectionType|options?|tenantId|oauthAppId|clientId|clientSecret|"
    r"authorizeURI|tokenURI|scope|refreshToken|accessToken|description)\b",
    re.IGNORECASE,
)
_CANONICAL_FIELDS = {
    f.lower(): f
    for f in (
        "name",
        "dataStore",
        "connectionType",
        "options",
        "tenantId",
        "oauthAppId",
        "clientId",
        "clientSecret",
        "authorizeURI",
        "tokenURI",
        "scope",
        "refreshToken",
        "accessToken",
        "description",
    )
}
_CANONICAL_FIELDS.update(option="options", names="name", named="name")


def object_id(value: int) -> int:
    """Ids go into paths: only real integers, so a caller can never smuggle ``?user=`` in."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("HDP ids must be integers")
    return value


class _Shared(httpx.BaseTransport):
    """A process-wide transport that a client's ``close()`` must not close."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Clients come and go; the pool lives as long as the process."""


def _verify(ca_bundle: str) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True


@functools.cache
def shared_transport(ca_bundle: str) -> httpx.BaseTransport:
    """The one transport (TLS context + connection pool) of this process for a CA bundle ("" = system)."""
    verify = _verify(ca_bundle)
    # retries= only repeats failed connection attempts: nothing reached HDP, so safe for any method.
    return _Shared(httpx.HTTPTransport(retries=1, verify=verify))


@functools.cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    """The validator of a list of ``model`` (built once per model: building one takes about 0.1 ms)."""
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@functools.cache
def _base(base_url: str) -> httpx.URL:
    """``base_url`` parsed once per process (httpx URLs are immutable): a client was parsing it twice,
    about half of the CPU its construction took, between a page's HDP calls."""
    return httpx.URL(base_url)


def _default_transport() -> httpx.BaseTransport:
    factory_path = getattr(settings, "HDP_TRANSPORT_FACTORY", None)
    if factory_path:
        factory = import_string(factory_path)
        transport: httpx.BaseTransport = factory()
        return transport
    return shared_transport(getattr(settings, "HDP_CA_BUNDLE", "") or "")


def _status_outcome(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    return "server_error" if status >= 500 else "client_error"


def _transport_outcome(exc: httpx.TransportError) -> str:
    if isinstance(
        exc, httpx.ConnectTimeout | httpx.ConnectError | httpx.PoolTimeout | httpx.UnsupportedProtocol
    ):
        return "unreachable"
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "error"


def _parse_error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """``{"error":{"code":<int|str>,"message":{"lang":…,"value":…}}}`` → (code, text); tolerant."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    code = normalise_code(error.get("code"))
    message = error.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    return code, message if isinstance(message, str) else None


def _field_errors(code: str | None, hdp_message: str | None) -> dict[str, str]:
    """Best-effort mapping of a rejection to HDP field names (for ``form.add_error``)."""
    field = messages.CODE_FIELDS.get(code or "")
    if field is None and hdp_message:
        match = _FIELD_WORDS.search(hdp_message)
        if match:
            field = _CANONICAL_FIELDS.get(match.group(1).lower())
    if field is None:
        return {}
    hint = messages.FIELD_HINTS.get(field)
    explanation = messages.explain_code(code)
    return {field: explanation or (str(hint) if hint is not None else messages.explain_rejected(400))}


class HdpHttp:
    """Sends calls as one HDP account and turns every answer into a model or an ``Hdp*`` error;
    ``portal.hdp.client.HdpClient`` adds one method per endpoint."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        on_behalf_of: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
    ) -> None:
        """``timeout``: seconds for connect and read alike (a probe's short wait); default: settings."""
        register_secret(password)
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.on_behalf_of = on_behalf_of or None
        self._as_person = False
        base = _base(self.base_url)
        self._host = base.host or self.base_url
        self._http = httpx.Client(
            base_url=base,
            auth=(username, password),
            timeout=(
                httpx.Timeout(timeout)
                if timeout is not None
                else httpx.Timeout(settings.HDP_READ_TIMEOUT, connect=settings.HDP_CONNECT_TIMEOUT)
            ),
            follow_redirects=False,
            transport=transport if transport is not None else _default_transport(),
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"HdpClient(base_url={self.base_url!r}, username={self.username!r}, on_behalf_of={self.on_behalf_of!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _request(
        self,
        method: Literal["GET", "POST", "PUT", "DELETE"],
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one call; returns a 2xx response or raises an ``Hdp*`` error."""
        if "?" in path or "#" in path:
            raise ValueError("query parameters go in params=, not in the path")
        query = dict(params or {})
        if "user" in query:
            raise ValueError("?user= is set by the client from on_behalf_of, never by a caller")
        if self.on_behalf_of:
            query["user"] = self.on_behalf_of
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            started = time.monotonic()
            operation = metrics.hdp_operation(method, path)
            with tracing.client_span(f"HDP {operation}", **{"hdp.operation": operation}):
                try:
                    response = self._http.request(method, path, params=query or None, json=body)
                except httpx.TransportError as exc:
                    self._log(method, path, type(exc).__name__, started, _transport_outcome(exc))
                    raise self._transport_error(exc, method, path) from exc
            self._log(method, path, str(response.status_code), started, _status_outcome(response.status_code))
            if not last and response.status_code in _RETRY_GET_STATUSES:
                continue
            if response.is_success:
                return response
            raise self._status_error(response, method, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def _log(self, method: str, path: str, outcome: str, started: float, metric_outcome: str) -> None:
        elapsed = time.monotonic() - started
        logger.info("HDP %s %s -> %s in %d ms", method, path, outcome, round(elapsed * 1000))
        # The operation name, never the path (ids would make unbounded label values).
        metrics.observe_hdp(method, path, metric_outcome, elapsed)

    def _transport_error(self, exc: httpx.TransportError, method: str, path: str) -> HdpError:
        host = self._host
        explanation: str
        delivery: Delivery
        if isinstance(exc, httpx.ConnectTimeout):
            explanation, delivery = messages.explain_connect_timeout(host), "not_sent"
        elif isinstance(exc, httpx.PoolTimeout):
            explanation, delivery = messages.explain_pool_timeout(host), "not_sent"
        elif isinstance(exc, httpx.ConnectError):
            text = str(exc).upper()
            tls = "SSL" in text or "CERTIFICATE" in text
            explanation = messages.explain_tls(host) if tls else messages.explain_connect(host)
            delivery = "not_sent"
        elif isinstance(exc, httpx.UnsupportedProtocol):
            explanation, delivery = messages.explain_connect(host), "not_sent"
        elif isinstance(exc, httpx.TimeoutException):  # ReadTimeout, WriteTimeout
            explanation, delivery = messages.explain_timeout(host), "unknown"
        else:
            # RemoteProtocolError, ReadError, WriteError, CloseError, ProxyError…: may have been acted on.
            explanation, delivery = messages.explain_dropped(host), "unknown"
        return HdpUnavailable(explanation, delivery=delivery, method=method, path=path)

    def _status_error(self, response: httpx.Response, method: str, path: str) -> HdpError:
        status = response.status_code
        if status >= 500:
            code, text = _parse_error_body(response)
            return HdpUnavailable(
                messages.explain_code(code) or messages.explain_server_error(status),
                code=code,
                hdp_message=text,
                status=status,
                delivery="unknown",
                method=method,
                path=path,
            )
        if status < 400:
            # 3xx (redirects are never followed) or an informational status: not a result.
            return HdpProtocolError(
                messages.explain_redirect(status), status=status, delivery="unknown", method=method, path=path
            )
        code, text = _parse_error_body(response)
        common: dict[str, Any] = {
            "code": code,
            "hdp_message": text,
            "status": status,
            "delivery": "definite",
            "method": method,
            "path": path,
        }
        if status == 401:
            return HdpUnauthorized(messages.explain_unauthorized(as_person=self._as_person), **common)
        if status == 403:
            return HdpForbidden(
                messages.explain_forbidden(method, path, on_behalf_of=self.on_behalf_of), **common
            )
        if status == 404 or code in messages.NOT_FOUND_CODES:
            return HdpNotFound(messages.explain_code(code) or messages.explain_not_found(), **common)
        return HdpRejected(
            messages.explain_code(code) or messages.explain_rejected(status),
            field_errors=_field_errors(code, text),
            **common,
        )

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            # A 2xx HDP acted on but whose answer is unreadable: reconcile before retrying.
            raise HdpProtocolError(
                messages.explain_unreadable("not JSON"),
                status=response.status_code,
                delivery="unknown",
                method=method,
                path=path,
            ) from None

    def _schema_error(
        self, exc: ValidationError, response: httpx.Response, method: str, path: str
    ) -> HdpError:
        # Locations only: pydantic's own text includes the input values (maybe secrets).
        where = ", ".join(".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()[:3])
        return HdpProtocolError(
            messages.explain_unreadable(f"unexpected fields: {where}"),
            status=response.status_code,
            delivery="unknown",
            method=method,
            path=path,
        )

    def _one(self, model: type[M], response: httpx.Response, method: str, path: str) -> M:
        data = self._json(response, method, path)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self._schema_error(exc, response, method, path) from None

    def _many(self, model: type[M], key: str, response: httpx.Response, method: str, path: str) -> list[M]:
        data = self._json(response, method, path)
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise HdpProtocolError(
                messages.explain_unreadable(f"no '{key}' list"),
                status=response.status_code,
                delivery="unknown",
                method=method,
                path=path,
            )
        try:
            return _list_adapter(model).validate_python(items)
        except ValidationError as exc:
            raise self._schema_error(exc, response, method, path) from None

    def _get(self, model: type[M], path: str, params: dict[str, str] | None = None) -> M:
        return self._one(model, self._request("GET", path, params=params), "GET", path)

    def _list(self, model: type[M], key: str, path: str, params: dict[str, str] | None = None) -> list[M]:
        return self._many(model, key, self._request("GET", path, params=params), "GET", path)

    def _create(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        return self._one(model, self._request("POST", path, body=body), "POST", path)

    def _update(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        """PUT; HDP's answer status/body is [U]: with no body, read the object back."""
        response = self._request("PUT", path, body=body)
        if not response.content.strip():
            return self._get(model, path)
        return self._one(model, response, "PUT", path)

    def _delete(self, path: str) -> None:
        """DELETE: 200 or 204, with or without a ``{"success":true}`` body (docs/hdp-api.md §7)."""
        self._request("DELETE", path)
