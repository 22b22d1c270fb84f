"""OpenTelemetry traces, off unless configured (docs/deploy.md "Traces (OpenTelemetry)").

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set or
``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``), unless ``OTEL_SDK_DISABLED=true``.
The other standard variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_BSP_*``,
``OTEL_TRACES_SAMPLER``...) are read by the SDK itself.

* Requests (Django), HDP calls (httpx, plus one ``HDP <operation>`` span per call from
  :mod:`portal.lib.tracing`), provider calls (requests), database queries (psycopg or sqlite3) and
  background tasks produce spans. Export is a ``BatchSpanProcessor`` with a bounded queue in a
  background thread: a collector that is down or slow drops spans, it never slows a request. After a
  failed export the batches of the next ``EXPORT_PAUSE_SECONDS`` are dropped unencoded (:class:`PausingExporter`).
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
from collections.abc import Sequence
from typing import Any

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
    """Passes batches to ``inner``; after a failed export (the collector down or refusing), drops the
    batches of the next ``pause`` seconds as they come, unencoded, then tries again.

    The OTLP exporter encodes every batch (about 50 us of Python a span, as much as recording it) before
    it finds the collector unreachable, then retries it with backoff for up to
    ``OTEL_EXPORTER_OTLP_TIMEOUT``: with the collector down, every span was encoded only to be dropped,
    in a thread that holds the GIL against the requests'.
    """

    def __init__(self, inner: SpanExporter, pause: float) -> None:
        self.inner = inner
        self.pause = pause
        self._resume_at = 0.0

    def paused(self) -> bool:
        return time.monotonic() < self._resume_at

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.paused():
            return SpanExportResult.FAILURE
        result = self.inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            self._resume_at = time.monotonic() + self.pause
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
    return PausingExporter(OTLPSpanExporter(timeout=timeout), pause=EXPORT_PAUSE_SECONDS)


def setup(exporter: SpanExporter | None = None, *, batch: bool = True) -> TracerProvider:
    """Install the SDK and the instrumentations once per process; ``exporter`` for tests."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        os.environ.setdefault("OTEL_SERVICE_NAME", "hdp-portal")
        chosen = exporter or _exporter()
        # The sampler OTEL_TRACES_SAMPLER names (the SDK's own reading of it), paused with the exporter.
        sampler = sampling._get_from_env_or_default()
        if isinstance(chosen, PausingExporter):
            sampler = PausedSampler(sampler, chosen)
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
    global _provider
    with _lock:
        if _provider is None:
            return
        for instrumentor in _instrumentors():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        from django_tasks.signals import task_enqueued, task_finished, task_started

        task_enqueued.disconnect(dispatch_uid="portal.ops.tracing.enqueued")
        task_started.disconnect(dispatch_uid="portal.ops.tracing.started")
        task_finished.disconnect(dispatch_uid="portal.ops.tracing.finished")
        _provider.shutdown()
        _provider = None
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


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
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
    token = otel_context.attach(trace.set_span_in_context(span))
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
