"""OpenTelemetry traces, off unless configured (docs/deploy.md "Traces (OpenTelemetry)").

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set or
``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``), unless ``OTEL_SDK_DISABLED=true``.
The other standard variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_BSP_*``,
``OTEL_TRACES_SAMPLER``...) are read by the SDK itself.

* Requests (Django), HDP calls (httpx, plus one ``HDP <operation>`` span per call from
  :mod:`portal.lib.tracing`), provider calls (requests), database queries (psycopg or sqlite3) and
  background tasks produce spans. Export is a ``BatchSpanProcessor`` with a bounded queue in a
  background thread: a collector that is down or slow drops spans, it never slows a request. While the
  collector is known down (a failed export or an unanswered attempt; probed at start, and again after each
  pause of ``EXPORT_PAUSE_SECONDS``) batches are dropped unencoded (:class:`PausingExporter`), no span is
  recorded (:class:`PausedSampler`) and requests and tasks are not instrumented
  (:class:`RequestTracingMiddleware`).
* No span holds a secret: :class:`RedactingSpanProcessor` copies every span as it ends (in the
  request's own thread, where the secrets registered with ``portal.lib.logging.register_secret`` are
  known), drops the query string of every URL (the OAuth callback's ``code`` and ``state``, the
  provider's ``state``, a sign-in page's ``?next=`` holding them URL-encoded), and runs every string
  attribute, event attribute and the name through ``portal.lib.logging.redact`` before export. Database
  spans carry the SQL with placeholders, never the parameters (only registered secrets are looked for).
* A task's span links to the request that queued it: the W3C ``traceparent`` of the enqueuing span
  is stored beside the task's arguments (``args_kwargs["trace"]`` of its django-tasks-db row; the
  task's own arguments are untouched), and the worker starts the task's span with a link to it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import requests
from django.conf import settings
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Status
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes, AttributeValue

from portal.lib.logging import may_redact, redact, redact_registered

logger = logging.getLogger("portal.ops")

#: Attributes that hold a URL or its query string, in the old and the stable semantic conventions:
#: their query string never reaches the exporter.
_URL_KEYS = ("http.url", "url.full", "http.target", "url.query", "http.route", "url.path")
#: The SQL of a database span, in the old and the stable semantic conventions.
_SQL_KEYS = ("db.statement", "db.query.text")
#: The operations endpoints are not traced (a probe every few seconds would flood the collector).
EXCLUDED_URLS = "/healthz,/readyz,/metrics"
#: After a failed export, the batches of this many seconds are dropped without being encoded.
EXPORT_PAUSE_SECONDS = 30.0
#: The exporter's deadline for one batch, its retries included, unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` or
#: ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` says otherwise. With the SDK's 10 s, a collector that refuses
#: connections was retried for about 7 s (1, 2 and 4 s apart) before the pause began, while every request
#: went on recording spans that were then dropped; and so again after every pause.
EXPORT_TIMEOUT_SECONDS = 3.0

_provider: TracerProvider | None = None
#: The exporter whose pause :func:`collector_down` reports (the OTLP one; None in tests with their own).
_pausing: PausingExporter | None = None
#: ``request.META`` key of a request :class:`RequestTracingMiddleware` did not trace.
_SKIPPED = "portal.ops.tracing.skipped"
#: OpenTelemetry's Django middleware, replaced in ``MIDDLEWARE`` by :class:`RequestTracingMiddleware`.
_OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"
_OUR_MIDDLEWARE = "portal.ops.tracing.RequestTracingMiddleware"
_lock = threading.Lock()


def configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _clean(key: str, value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        if key == "url.query":
            return ""
        if key in _SQL_KEYS:
            # Django's statements are parametrised (values travel apart, never in the span): only a
            # registered secret could be there, and the patterns would cost ~0.2 ms a statement.
            return redact_registered(value)
        if key in _URL_KEYS:
            # No query string at all: the callback's code and state, the provider's state, and the
            # same URL-encoded inside a sign-in page's ?next= would slip past the patterns.
            value = value.split("?", 1)[0]
        return redact(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes | str):
        return [redact(v) if isinstance(v, str) else v for v in value]
    return value


def _clean_all(attributes: Any) -> dict[str, AttributeValue]:
    return {key: _clean(key, value) for key, value in (attributes or {}).items()}


def _untouched(span: ReadableSpan) -> bool:
    """True when :func:`redacted` would change nothing: no URL with a query string, and neither the
    patterns (SQL: the registered secrets only) nor a registered secret find anything in one look at all
    the span's strings. Most spans (database queries, HDP calls) take this path and no per-string call."""
    texts = [span.name, span.status.description or ""]
    sql: list[str] = []
    events = span.events
    for attributes in (
        (span.attributes, *(event.attributes for event in events)) if events else (span.attributes,)
    ):
        for key, value in (attributes or {}).items():
            if isinstance(value, str):
                if key in _SQL_KEYS:
                    sql.append(value)
                elif key in _URL_KEYS and ("?" in value or (key == "url.query" and value)):
                    return False
                else:
                    texts.append(value)
            elif isinstance(value, tuple | list):
                texts.extend(v for v in value if isinstance(v, str))
            elif not isinstance(value, int | float):  # bool is an int; anything else: the full path
                return False
    texts.extend(event.name for event in events)
    return not may_redact("\n".join(texts)) and not (sql and may_redact("\n".join(sql), patterns=False))


def redacted(span: ReadableSpan) -> ReadableSpan:
    """``span`` with every string run through the log redaction: a copy where that changed anything,
    else the span itself (most spans: a copy costs about as much as making the span)."""
    if _untouched(span):
        return span
    name = redact(span.name)
    attributes = _clean_all(span.attributes)
    events = [
        Event(redact(event.name), _clean_all(event.attributes), event.timestamp) for event in span.events
    ]
    # An error's status carries the exception's message (the instrumentations write "Type: message").
    status = span.status
    if status.description:
        status = Status(status.status_code, redact(status.description))
    if (
        name == span.name
        and status.description == span.status.description
        and attributes == dict(span.attributes or {})
        and all(
            new.name == old.name and new.attributes == dict(old.attributes or {})
            for new, old in zip(events, span.events, strict=True)
        )
    ):
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Hands the next processor (the batching exporter) a redacted copy of every ended span."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Any, parent_context: otel_context.Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(redacted(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class PausingExporter(SpanExporter):
    """Passes batches to ``inner`` while the collector is up; while it is known down, drops them as they
    come, unencoded, and says so (:meth:`paused`) to the sampler and the request middleware.

    Known down: an export failed, or the exporter's session could not reach the collector (refused,
    unreachable, timed out: :meth:`unreachable`, at the first such attempt, not after the exporter's retries).
    Then for ``pause`` seconds nothing is tried; after them, the first :meth:`paused` starts a probe in a
    background thread (``reachable``: an empty export, answered or not) and the pause lasts until the probe
    says the collector is reachable. :meth:`check` probes at once (at start: a worker that starts with the
    collector down knows it before its first batch). The OTLP exporter encodes every batch (about 50 us of
    Python a span, as much as recording it) before it finds the collector unreachable, then retries it for
    up to ``OTEL_EXPORTER_OTLP_TIMEOUT``: with the collector down, every span was encoded only to be
    dropped, in a thread that holds the GIL against the requests'.
    """

    def __init__(
        self, inner: SpanExporter, pause: float, reachable: Callable[[], bool] | None = None
    ) -> None:
        self.inner = inner
        self.pause = pause
        self.reachable = reachable or (lambda: self.inner.export([]) is SpanExportResult.SUCCESS)
        self._resume_at = 0.0
        self._down = False
        self._probing = threading.Lock()
        # A process forked during a probe (gunicorn --preload) has no probe thread: it probes anew.
        after_fork = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: (method := after_fork()) and method())

    def _after_fork(self) -> None:
        if self._probing.locked():
            self._probing = threading.Lock()
            if self._resume_at == float("inf"):
                self._resume_at = 0.0

    def paused(self) -> bool:
        """True while the collector is known down (and while a probe after a pause has not answered)."""
        if time.monotonic() < self._resume_at:
            return True
        if self._down:
            self.check()
            return True
        return False

    def unreachable(self) -> None:
        """The collector did not answer an attempt: pause now, whatever the exporter's retries find later."""
        self._down = True
        self._resume_at = time.monotonic() + self.pause

    def check(self) -> None:
        """Probe the collector in a background thread (unless a probe runs); paused until it answers."""
        if not self._probing.acquire(blocking=False):
            return
        if self._down:
            self._resume_at = float("inf")  # paused() stays cheap while the probe runs
        threading.Thread(target=self._probe, name="portal-otlp-probe", daemon=True).start()

    def _probe(self) -> None:
        from opentelemetry.instrumentation.utils import suppress_instrumentation

        try:
            with suppress_instrumentation():  # the probe's own HTTP request is not traced
                up = self.reachable()
        except Exception:  # a probe that breaks counts as down, never as an error
            up = False
        finally:
            self._probing.release()
        if up:
            self._down = False
            self._resume_at = 0.0
        else:
            self.unreachable()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.paused():
            return SpanExportResult.FAILURE
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self._down = False
            self._resume_at = 0.0
        else:
            self.unreachable()
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class PausedSampler(Sampler):
    """``inner``'s decision, except while ``exporter`` pauses: then no span is recorded.

    Spans of that time would be dropped unexported anyway; recording them (attributes, redaction) was
    most of what tracing cost a request with the collector down. The instrumentations still run and
    still propagate trace ids (log lines, a task's link keep them); the spans are non-recording. When
    the pause ends, spans are recorded again and the next export tries the collector.
    """

    def __init__(self, inner: Sampler, exporter: PausingExporter) -> None:
        self.inner = inner
        self.exporter = exporter

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if self.exporter.paused():
            parent = trace.get_current_span(parent_context).get_span_context()
            return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"PausedSampler{{{self.inner.get_description()}}}"


def collector_down() -> bool:
    """True while the exporter pauses: the collector is known down (see :class:`PausingExporter`)."""
    return _pausing is not None and _pausing.paused()


class RequestTracingMiddleware:
    """OpenTelemetry's Django middleware (in its place, first in ``MIDDLEWARE``), skipped while the collector
    is known down (:func:`collector_down`, decided once when the request starts).

    A skipped request runs under one non-recording span that continues an incoming ``traceparent`` (log
    lines and a task it queues keep a trace id) with the instrumentations suppressed (OpenTelemetry's
    suppress-instrumentation context key, which the httpx, requests and database instrumentations honour):
    no span is started and no ``traceparent`` is sent to HDP or a provider. With the sampler alone those
    spans were not recorded, but starting them (attributes, URL checks, contexts) still cost about 7% of a
    page's CPU for spans nobody could receive.
    """

    def __init__(self, get_response: Any) -> None:
        from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

        traced: Any = _DjangoMiddleware  # untyped
        self.get_response = get_response
        self.traced = traced(get_response)

    def __call__(self, request: Any) -> Any:
        if not collector_down():
            return self.traced(request)
        from opentelemetry.instrumentation.utils import suppress_instrumentation
        from opentelemetry.instrumentation.wsgi import wsgi_getter

        request.META[_SKIPPED] = True
        parent = trace.get_current_span(
            propagate.extract(request.META, getter=wsgi_getter)
        ).get_span_context()
        ids = _provider.id_generator if _provider is not None else RandomIdGenerator()
        span = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=parent.trace_id if parent.is_valid else ids.generate_trace_id(),
                span_id=ids.generate_span_id(),
                is_remote=False,
                trace_flags=trace.TraceFlags(trace.TraceFlags.DEFAULT),
                trace_state=parent.trace_state if parent.is_valid else None,
            )
        )
        with trace.use_span(span), suppress_instrumentation():
            return self.get_response(request)

    def process_view(self, request: Any, *args: Any, **kwargs: Any) -> None:
        if _SKIPPED not in request.META:
            self.traced.process_view(request, *args, **kwargs)

    def process_exception(self, request: Any, exception: Exception) -> None:
        if _SKIPPED not in request.META:
            self.traced.process_exception(request, exception)


class _WatchedSession(requests.Session):
    """The OTLP exporter's HTTP session, telling whether the collector answered: any HTTP answer (even an
    error status) means it is reachable; a refused, unreachable or timed-out attempt calls
    ``on_unreachable`` at once (the exporter would retry it for up to its timeout first)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = False
        self.on_unreachable: Callable[[], None] = lambda: None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            response = super().request(*args, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            self.on_unreachable()
            raise
        self.answered = True
        return response


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # endpoint, headers, timeout, compression: OTEL_EXPORTER_OTLP_*; the timeout defaults to ours.
    configured_timeout = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    timeout = None if configured_timeout else EXPORT_TIMEOUT_SECONDS
    # A credential provider (OTEL_PYTHON_EXPORTER_OTLP_*_CREDENTIAL_PROVIDER) brings its own session: then
    # only a failed export tells that the collector is down, and a probe must succeed.
    if any(name.endswith("CREDENTIAL_PROVIDER") for name in os.environ if name.startswith("OTEL_")):
        return PausingExporter(OTLPSpanExporter(timeout=timeout), pause=EXPORT_PAUSE_SECONDS)
    session = _WatchedSession()
    inner = OTLPSpanExporter(timeout=timeout, session=session)

    def reachable() -> bool:
        session.answered = False
        return inner.export([]) is SpanExportResult.SUCCESS or session.answered

    exporter = PausingExporter(inner, pause=EXPORT_PAUSE_SECONDS, reachable=reachable)
    session.on_unreachable = exporter.unreachable
    return exporter


def setup(exporter: SpanExporter | None = None, *, batch: bool = True) -> TracerProvider:
    """Install the SDK and the instrumentations once per process; ``exporter`` for tests."""
    global _provider, _pausing
    with _lock:
        if _provider is not None:
            return _provider
        os.environ.setdefault("OTEL_SERVICE_NAME", "hdp-portal")
        chosen = exporter or _exporter()
        # The sampler OTEL_TRACES_SAMPLER names (the SDK's own reading of it), paused with the exporter.
        sampler = sampling._get_from_env_or_default()
        if isinstance(chosen, PausingExporter):
            sampler = PausedSampler(sampler, chosen)
            _pausing = chosen
            chosen.check()  # a collector that is down at start is known down before the first batch
        provider = TracerProvider(resource=Resource.create(), sampler=sampler)
        inner: SpanProcessor = BatchSpanProcessor(chosen) if batch else SimpleSpanProcessor(chosen)
        provider.add_span_processor(RedactingSpanProcessor(inner))
        trace.set_tracer_provider(provider)
        _instrument(provider)
        _connect_tasks()
        _provider = provider
        logger.info("OpenTelemetry tracing on (service %s)", os.environ["OTEL_SERVICE_NAME"])
        return provider


def teardown() -> None:
    """Undo :func:`setup` (tests only: a process that traces keeps tracing until it exits)."""
    global _provider, _pausing
    with _lock:
        if _provider is None:
            return
        _swap_middleware(_OUR_MIDDLEWARE, _OTEL_MIDDLEWARE)  # for the instrumentor to remove
        for instrumentor in _instrumentors():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        from django_tasks.signals import task_enqueued, task_finished, task_started

        task_enqueued.disconnect(dispatch_uid="portal.ops.tracing.enqueued")
        task_started.disconnect(dispatch_uid="portal.ops.tracing.started")
        task_finished.disconnect(dispatch_uid="portal.ops.tracing.finished")
        _provider.shutdown()
        _provider = None
        _pausing = None
        from opentelemetry.util._once import Once

        # The API lets a process set its provider once; a test that traced gives it back.
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


def _instrumentors() -> list[Any]:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

    return [
        DjangoInstrumentor(),
        HTTPXClientInstrumentor(),
        RequestsInstrumentor(),
        PsycopgInstrumentor(),
        SQLite3Instrumentor(),
    ]


def _swap_middleware(old: str, new: str) -> None:
    """Replace ``old`` in ``MIDDLEWARE`` by ``new``, in the list itself (as the instrumentor adds and removes its
    own: a test's settings override reads the same list)."""
    middleware = settings.MIDDLEWARE
    if old in middleware:
        middleware[middleware.index(old)] = new


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    # Its middleware, wrapped: skipped while the collector is known down (RequestTracingMiddleware).
    _swap_middleware(_OTEL_MIDDLEWARE, _OUR_MIDDLEWARE)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("postgresql"):
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        # No sqlcommenter (it would write trace ids into every statement) and no parameters in spans.
        PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
    elif engine.endswith("sqlite3"):
        from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

        SQLite3Instrumentor().instrument(tracer_provider=provider)


# --- background tasks ---------------------------------------------------------------------------------

_task_spans = threading.local()


def _on_enqueued(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """Store the enqueuing request's ``traceparent`` on the task's row (beside its arguments)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if "traceparent" not in carrier:
        return
    from django_tasks_db.models import DBTaskResult

    row = DBTaskResult.objects.filter(id=task_result.id).values_list("args_kwargs", flat=True).first()
    if isinstance(row, dict):
        DBTaskResult.objects.filter(id=task_result.id).update(args_kwargs={**row, "trace": carrier})


def _on_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    row = DBTaskResult.objects.filter(id=task_result.id).values_list("args_kwargs", flat=True).first()
    carrier = row.get("trace") if isinstance(row, dict) else None
    links = []
    if isinstance(carrier, dict):
        queued_by = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if queued_by.is_valid:
            links.append(trace.Link(queued_by, {"portal.link": "enqueued_by"}))
    name = str(getattr(task_result.task, "name", "") or "task")
    span = trace.get_tracer("portal.tasks").start_span(
        f"task {name}",
        context=otel_context.Context(),  # a new trace: the request has long ended
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes={"portal.task": name},
    )
    current = trace.set_span_in_context(span)
    if collector_down():  # as for a request: the instrumentations start no span in the task
        current = otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True, current)
    token = otel_context.attach(current)
    _task_spans.current = (span, token)


def _on_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    current = getattr(_task_spans, "current", None)
    if current is None:
        return
    span, token = current
    _task_spans.current = None
    span.set_attribute("portal.task.status", str(getattr(task_result, "status", "")))
    span.end()
    otel_context.detach(token)


def _connect_tasks() -> None:
    from django_tasks.signals import task_enqueued, task_finished, task_started

    task_enqueued.connect(_on_enqueued, dispatch_uid="portal.ops.tracing.enqueued")
    task_started.connect(_on_started, dispatch_uid="portal.ops.tracing.started")
    task_finished.connect(_on_finished, dispatch_uid="portal.ops.tracing.finished")
