"""Keep secrets out of logs and error reports (SECURITY.md item 17).

Two layers:

* Code that handles a secret (client secret, tokens, HDP password, authorization code, PKCE
  verifier) calls :func:`register_secret`; for the rest of that request any log record or error
  report containing the value has it replaced by ``[redacted]``.
* Patterns that look like credentials (``Authorization`` headers, ``*_token=``, ``client_secret``,
  ``password``, ``code=``, the portal's API tokens ``hdpp_...``) are masked regardless, and so is a handoff
  link's path (``/oauth/h/<token>/``, issue 19) wherever it appears: request lines of runserver (logger
  ``django.server``) and gunicorn's access log (``gunicorn.conf.py`` uses :func:`redact` too).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_started
from django.http import HttpRequest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("portal_secrets", default=())
#: Who and what the current request is, for :class:`JsonFormatter` (set by
#: ``portal.lib.middleware.RequestContextMiddleware``): request id, person id, tenant id.
_REQUEST: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "portal_request_context", default=None
)

REDACTED = "[redacted]"
_PATTERNS = [
    # Also the repr of a headers dict: 'Authorization': 'Basic ...' (requests-oauthlib at DEBUG).
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)\s+[^\s'\",}]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|password|code|state|"
        r"accessToken|refreshToken|clientSecret)[\"']?\s*[:=]\s*[\"']?)([^\s&'\",}]+)"
    ),
    # The portal's own API tokens (portal/api/tokens.py), wherever they appear.
    re.compile(r"hdpp_[A-Za-z0-9_-]{8,}"),
]


#: A handoff link's random part after ``/h/`` (portal/oauth/urls.py); masked in any text.
_LINK_PATH = re.compile(r"(/h/)[A-Za-z0-9_%-]{8,}")


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log line and error report for the rest of this request."""
    if value and len(value) >= 4 and value not in _SECRETS.get():
        _SECRETS.set((*_SECRETS.get(), value))


def secrets_in(context: contextvars.Context) -> tuple[str, ...]:
    """The values registered in ``context``: a copy of a request's context that another thread ran
    in (its registrations stay in the copy; the request registers them again, portal/support/reads.py)."""
    return context.get(_SECRETS, ())


def clear_secrets() -> None:
    _SECRETS.set(())


def _clear_on_request_started(**kwargs: Any) -> None:
    # A worker thread serves request after request in one context: without this, every secret it
    # ever saw would stay registered (growing memory, and every log line scanned for all of them).
    clear_secrets()
    _REQUEST.set(None)


def set_request_context(**values: object) -> None:
    """Add ``request_id``, ``person_id`` or ``tenant_id`` to the current request's log context."""
    current = _REQUEST.get()
    _REQUEST.set({**(current or {}), **values})


def request_context() -> dict[str, object]:
    return dict(_REQUEST.get() or {})


request_started.connect(_clear_on_request_started, dispatch_uid="portal.lib.logging.clear_secrets")


#: Every name the second pattern matches contains one of these (lower-cased): an ASCII text holding none
#: of them cannot match it, so the regex (about 200 us on a 300-character SQL statement) is skipped.
_STEMS = ("token", "secret", "verifier", "password", "code", "state")
#: What each pattern needs to find in the lower-cased text before it can match: one scan (in C) tells
#: whether any pattern may apply. Most log lines and span attributes (SQL, span names, methods, hosts)
#: hold none, and tracing runs this for every string of every span.
_NEEDLES = re.compile("|".join(re.escape(n) for n in ("authorization", *_STEMS, "hdpp_", "/h/")))


def redact(text: str) -> str:
    # A cheap look first: most log lines and span attributes (SQL statements) name no credential. Only
    # for ASCII text, where lower() is exactly the patterns' IGNORECASE; anything else takes the full path.
    if text.isascii():
        lower = text.lower()
        if _NEEDLES.search(lower) is None:
            return redact_registered(text)
    else:
        lower = None
    # Patterns first: a registered non-secret such as a token_type of "Bearer" must not stop the
    # Authorization pattern from seeing "Bearer <token>".
    if lower is None or "authorization" in lower:
        text = _PATTERNS[0].sub(lambda m: m.group(1) + m.group(2) + " " + REDACTED, text)
    if lower is None or any(stem in lower for stem in _STEMS):
        text = _PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
    if lower is None or "hdpp_" in lower:
        text = _PATTERNS[2].sub("hdpp_" + REDACTED, text)
    if lower is None or "/h/" in lower:
        text = _LINK_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return redact_registered(text)


def may_redact(text: str, *, patterns: bool = True) -> bool:
    """Whether :func:`redact` (``patterns=False``: :func:`redact_registered`) could change ``text``; False
    means it returns ``text`` as is. One scan in C, for callers with many strings that mostly hold nothing
    (tracing joins a span's strings with newlines and asks once: no needle or secret spans a newline
    that is not in one of them)."""
    if patterns and not (text.isascii() and _NEEDLES.search(text.lower()) is None):
        return True
    return any(secret in text for secret in _SECRETS.get())


def redact_registered(text: str) -> str:
    """Only the values registered with :func:`register_secret` (for text where the patterns cannot
    apply: a parametrised SQL statement holds ``%s`` where a value would be)."""
    for secret in _SECRETS.get():
        text = text.replace(secret, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Pre-render the traceback so the exception text is redacted too.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        record.msg, record.args = cleaned, None
        return True


#: Request metadata that carries the query string (an OAuth ``code``/``state``) or a URL with it.
_URL_META = ("QUERY_STRING", "RAW_URI", "REQUEST_URI", "HTTP_REFERER")


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides POST fields named like secrets; also hide every POST value, every
    frame variable, cookies, and the query string wherever the request metadata repeats it."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|DATABASE_URL", flags=re.I
    )

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleansed_substitute)
            for name, _ in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def get_safe_request_meta(self, request: HttpRequest) -> Any:
        meta = super().get_safe_request_meta(request)
        for key in _URL_META:
            if meta.get(key):
                meta[key] = self.cleansed_substitute
        return meta

    def get_safe_cookies(self, request: HttpRequest) -> Any:
        return dict.fromkeys(getattr(request, "COOKIES", {}), self.cleansed_substitute)


class PortalExceptionReporter(ExceptionReporter):
    """Error reports (500 page with DEBUG, AdminEmailHandler mails) without the query string:
    Django's reporter shows ``request.GET`` and the full URL unfiltered (SECURITY.md item 17)."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [(key, REDACTED) for key in self.request.GET]
            raw_uri = getattr(self, "_get_raw_insecure_uri")  # noqa: B009  (private in Django's stubs)
            data["request_insecure_uri"] = redact(str(raw_uri()).split("?", 1)[0])
        return data


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``PORTAL_LOG_FORMAT=json``): time, level, logger, message, request id,
    trace and span id (when tracing is on), person and tenant ids.

    It formats what :class:`RedactSecretsFilter` (on the same handler, so in front of it) left: the
    message and the traceback are already redacted; nothing else of the record is written.
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        context = _REQUEST.get() or {}
        for key in ("request_id", "person_id", "tenant_id"):
            if context.get(key) is not None:
                data[key] = context[key]
        from portal.lib.tracing import current_ids

        ids = current_ids()
        if ids is not None:
            data["trace_id"], data["span_id"] = ids
        if record.exc_info and record.exc_info[1] is not None:
            # A record that skipped the filter (a handler without it) is still redacted here.
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)
