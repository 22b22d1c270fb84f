"""The one exception tree for HDP calls (docs/architecture.md, SECURITY.md item 29).

The client translates every httpx and pydantic failure into one of these, so callers only ever
catch ``Hdp*``. Each error says, besides what went wrong, whether HDP may have acted on the
request (``delivery``):

* ``"not_sent"``: the request never reached HDP (connect error/timeout, pool timeout). Safe to retry.
* ``"unknown"``: HDP may or may not have acted (read/write timeout, dropped connection, 5xx,
  redirect, unreadable 2xx body). Reconcile (list + match by name) before any retry of a create.
* ``"definite"``: HDP answered and did not do it (4xx).

``hdp_message`` is HDP's own text. It can echo what was sent (names, option values), so it is
never part of ``str(error)``, never logged raw, and must be escaped wherever it is shown.
"""

from __future__ import annotations

from typing import Literal

Delivery = Literal["not_sent", "unknown", "definite"]


def normalise_code(code: object) -> str | None:
    """HDP sends ``code`` as an int in some answers and a quoted string in others (docs/hdp-api.md §7)."""
    if code is None or isinstance(code, bool):
        return None
    if isinstance(code, int):
        return str(code)
    if isinstance(code, str):
        code = code.strip()
        return code or None
    return None


class HdpError(Exception):
    """Base of every HDP failure. ``str()`` carries no body, secret or HDP text."""

    def __init__(
        self,
        explanation: str,
        *,
        code: object = None,
        hdp_message: str | None = None,
        status: int | None = None,
        delivery: Delivery = "definite",
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.explanation = str(explanation)
        self.code = normalise_code(code)
        self.hdp_message = hdp_message
        self.status = status
        self.delivery: Delivery = delivery
        self.method = method
        self.path = path
        super().__init__(self.explanation)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else "HDP call"
        parts = [where]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None and self.code.isdigit():
            parts.append(f"HDP code {self.code}")
        parts.append(f"delivery={self.delivery}")
        return f"{', '.join(parts)}: {self.explanation}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class HdpUnavailable(HdpError):
    """HDP could not be reached, timed out, dropped the connection or answered 5xx."""


class HdpAuthError(HdpError):
    """HDP refused the credentials (401) or the operation (403). Fail closed and alert."""


class HdpUnauthorized(HdpAuthError):
    """401: wrong user name or password (for the service account: a configuration problem)."""


class HdpForbidden(HdpAuthError):
    """403: the acting user lacks a permission for this operation or tenant."""


class HdpNotFound(HdpError):
    """404, or one of HDP's "no such id" codes (which may arrive with a 400)."""


class HdpRejected(HdpError):
    """Another 4xx: HDP refused the request as sent. ``field_errors`` maps HDP field names
    (``name``, ``dataStore``, ``options``…) to a plain-words message, best effort, for
    ``form.add_error``."""

    def __init__(
        self,
        explanation: str,
        *,
        code: object = None,
        hdp_message: str | None = None,
        status: int | None = None,
        delivery: Delivery = "definite",
        method: str | None = None,
        path: str | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            explanation,
            code=code,
            hdp_message=hdp_message,
            status=status,
            delivery=delivery,
            method=method,
            path=path,
        )
        self.field_errors: dict[str, str] = dict(field_errors or {})


class HdpProtocolError(HdpError):
    """HDP answered something the portal cannot read: bad JSON, a schema mismatch, a redirect."""
