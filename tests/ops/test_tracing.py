"""issue 23: OpenTelemetry in-process (in-memory exporter): spans of a wizard request, redaction,
a task's link to the request that queued it, tracing off by default. The OTLP receiver and the database
spans under gunicorn are in test_gunicorn.py; the canary run with tracing on is
tests/security/test_canary.py."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_tasks import task
from django_tasks_db.models import DBTaskResult
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from portal.lib.logging import JsonFormatter, clear_secrets, register_secret
from portal.ops import tracing
from tests.helpers.spans import dump
from tests.helpers.tasks import in_process_worker
from tests.helpers.wizard import sign_in


@task()
def traced_noop(value: int) -> int:
    return value + 1


@task()
def instrumentation_enabled() -> bool:
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    return is_instrumentation_enabled()


def test_off_unless_configured(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.configured()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.configured()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.configured()
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing.configured()
    # Without setup, the portal's own spans are the API's no-op ones (no ids in the logs).
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.django_db
def test_wizard_request_spans_with_hdp_operation(spans, client, hdp_log):
    assert sign_in(client).status_code == 302
    spans.clear()
    response = client.get(reverse("onboarding:new"))
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    servers = [s for s in finished if s.kind == trace.SpanKind.SERVER]
    assert len(servers) == 1
    server = servers[0]
    hdp = [s for s in finished if s.name.startswith("HDP ")]
    assert hdp, [s.name for s in finished]
    assert all(s.context.trace_id == server.context.trace_id for s in hdp)
    assert {s.attributes["hdp.operation"] for s in hdp} <= {"list_datastores", "get_datastore", "get_me"}


@pytest.mark.django_db
def test_callback_query_string_never_in_a_span(spans, client, hdp_log):
    assert sign_in(client).status_code == 302
    spans.clear()
    code, state = "sentinel-span-code-5521", "sentinel-span-state-9d07"
    client.get("/oauth/callback/Acme_GA_app/", {"code": code, "state": state})
    text = dump(spans.get_finished_spans())
    assert spans.get_finished_spans()
    assert code not in text and state not in text
    assert "/oauth/callback/Acme_GA_app/" in text


def test_registered_secret_redacted_in_attributes_and_events(spans):
    secret = "sentinel-span-secret-0b3c"
    register_secret(secret)
    tracer = trace.get_tracer("test")
    with pytest.raises(RuntimeError), tracer.start_as_current_span(f"op {secret}") as span:
        span.set_attribute("detail", f"password={secret}")
        span.set_attribute("list", [secret, "x"])
        raise RuntimeError(f"boom {secret}")
    finished = spans.get_finished_spans()
    text = dump(finished)
    assert "RuntimeError" in text
    assert secret not in text
    # The error's status description is the exception's message, redacted like the rest.
    assert finished[0].status.description == "RuntimeError: boom [redacted]"


def test_json_log_line_carries_trace_and_span_ids(spans):
    import logging

    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("op") as span:
        record = logging.LogRecord("portal", logging.INFO, __file__, 1, "hello", None, None)
        data = json.loads(JsonFormatter().format(record))
        context = span.get_span_context()
    assert data["trace_id"] == format(context.trace_id, "032x")
    assert data["span_id"] == format(context.span_id, "016x")


@pytest.mark.django_db
def test_task_span_links_to_the_request_that_queued_it(spans):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request") as request_span:
        result = traced_noop.enqueue(41)
        queued_by = request_span.get_span_context()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.args_kwargs["args"] == [41] and row.args_kwargs["kwargs"] == {}  # the task's own arguments
    assert row.args_kwargs["trace"]["traceparent"].split("-")[1] == format(queued_by.trace_id, "032x")
    worker = in_process_worker(max_tasks=1)
    worker.run_task(row)
    row.refresh_from_db()
    assert row.return_value == 42
    task_spans = [s for s in spans.get_finished_spans() if s.name == "task traced_noop"]
    assert len(task_spans) == 1
    span = task_spans[0]
    assert span.kind == trace.SpanKind.CONSUMER
    assert span.context.trace_id != queued_by.trace_id  # its own trace, linked
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [
        (queued_by.trace_id, queued_by.span_id)
    ]


class _Exporter(SpanExporter):
    def __init__(self, result: SpanExportResult) -> None:
        self.result = result
        self.batches: list[int] = []

    def export(self, spans):
        self.batches.append(len(spans))
        return self.result


def _eventually(condition, seconds=3.0):
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_pausing_exporter_drops_unencoded_batches_after_a_failure(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(tracing.time, "monotonic", lambda: now[0])
    inner = _Exporter(SpanExportResult.FAILURE)
    exporter = tracing.PausingExporter(inner, pause=30)
    assert exporter.export([object()] * 3) is SpanExportResult.FAILURE  # tried: the collector is down
    now[0] += 29
    assert exporter.paused()
    assert exporter.export([object()] * 5) is SpanExportResult.FAILURE  # within the pause: not passed on
    assert inner.batches == [3]
    now[0] += 2
    # After the pause, a probe (an empty export here) asks the collector first; paused until it answers.
    assert exporter.export([object()] * 4) is SpanExportResult.FAILURE
    assert _eventually(lambda: inner.batches == [3, 0])
    assert _eventually(lambda: exporter.paused())  # the probe failed: another pause
    assert exporter.export([object()] * 2) is SpanExportResult.FAILURE
    now[0] += 31
    inner.result = SpanExportResult.SUCCESS  # the collector is back
    assert exporter.paused()  # probing
    assert _eventually(lambda: not exporter.paused())
    assert exporter.export([object()] * 7) is SpanExportResult.SUCCESS
    assert exporter.export([object()] * 2) is SpanExportResult.SUCCESS
    assert inner.batches == [3, 0, 0, 7, 2]


def test_a_check_at_start_finds_a_collector_that_is_down_before_the_first_batch():
    inner = _Exporter(SpanExportResult.FAILURE)
    exporter = tracing.PausingExporter(inner, pause=30)
    assert not exporter.paused()  # until the collector is known down, spans are recorded
    exporter.check()
    assert _eventually(exporter.paused)
    assert inner.batches == [0]
    up = tracing.PausingExporter(_Exporter(SpanExportResult.SUCCESS), pause=30)
    up.check()
    assert _eventually(lambda: up.inner.batches == [0])
    assert not up.paused()


def test_a_process_forked_during_a_probe_probes_anew():
    """gunicorn --preload forks workers from a process whose probe may still be running."""
    import os
    import threading

    release = threading.Event()
    exporter = tracing.PausingExporter(_Exporter(SpanExportResult.FAILURE), pause=30, reachable=release.wait)
    exporter.unreachable()
    exporter._resume_at = 0.0  # the pause is over
    assert exporter.paused()  # a probe starts, and hangs
    pid = os.fork()
    if pid == 0:  # the child: no probe thread; its next look at the collector starts one
        os._exit(0 if not exporter._probing.locked() and exporter._resume_at == 0.0 else 1)
    release.set()
    assert os.waitpid(pid, 0)[1] == 0


def test_the_otlp_exporter_is_wrapped_in_the_pause(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    exporter = tracing._exporter()
    assert isinstance(exporter, tracing.PausingExporter)
    assert exporter.pause == tracing.EXPORT_PAUSE_SECONDS


def test_a_refused_connection_ends_the_export_within_the_portals_timeout(monkeypatch):
    """With the SDK's 10 s the exporter retried a refused connection for about 7 s before the pause began."""
    import socket
    import time

    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TIMEOUT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1/traces"  # nothing listens once it is closed
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", closed)
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, TraceFlags

    context = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    span = ReadableSpan(
        name="GET /", context=context, start_time=1, end_time=2
    )  # one the exporter can encode
    exporter = tracing._exporter()
    started = time.monotonic()
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert time.monotonic() - started < tracing.EXPORT_TIMEOUT_SECONDS + 1
    assert exporter.paused()

    # The pause starts at the first refused attempt, not after the exporter's retries (1 s apart and more).
    exporter = tracing._exporter()
    import threading

    exporting = threading.Thread(target=exporter.export, args=([span],))
    started = time.monotonic()
    exporting.start()
    assert _eventually(exporter.paused, seconds=0.5)
    assert exporting.is_alive()  # still retrying, while no span is recorded any more
    exporting.join()
    assert time.monotonic() - started >= 0.5


def test_the_probe_counts_any_http_answer_as_reachable(monkeypatch):
    """An empty export answered 4xx (a collector that rejects it) still says the collector is there."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Rejecting(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rejecting)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/"
        )
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1")
        exporter = tracing._exporter()
        assert exporter.reachable()
        exporter.check()
        assert _eventually(lambda: not exporter._probing.locked())
        assert not exporter.paused()
    finally:
        server.shutdown()
        server.server_close()
    assert not exporter.reachable()  # nothing listens any more


def test_a_configured_otlp_timeout_wins(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7")
    assert tracing._exporter().inner._client._timeout == 7.0  # the SDK reads it (seconds in Python's SDK)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TIMEOUT")
    assert tracing._exporter().inner._client._timeout == tracing.EXPORT_TIMEOUT_SECONDS


def _span(name="SELECT", attributes=None, events=(), description=None):
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status, StatusCode

    status = Status(StatusCode.ERROR, description) if description else Status(StatusCode.UNSET)
    return ReadableSpan(
        name=name, attributes=attributes or {}, events=[Event(*e) for e in events], status=status
    )


@pytest.mark.parametrize(
    ("span", "secret_or_query"),
    [
        (_span("op password=hunter2-xyz"), "hunter2-xyz"),
        (_span(attributes={"db.statement": "SELECT 1 WHERE x = 'sentinel-sql-9f1e'"}), "sentinel-sql-9f1e"),
        (_span(attributes={"http.url": "https://h.example/cb?code=abc123"}), "abc123"),
        (_span(attributes={"url.full": "https://h.example/cb?x=sentinel-q-77"}), "sentinel-q-77"),
        (_span(attributes={"url.query": "x=sentinel-query-5"}), "sentinel-query-5"),
        (_span(attributes={"detail": "Ünïcode client_secret=sentinel-u-3"}), "sentinel-u-3"),
        (_span(attributes={"list": ["a", "Bearer-less sentinel-reg-41"]}), "sentinel-reg-41"),
        (_span(events=[("exception", {"exception.message": "boom sentinel-reg-41"})]), "sentinel-reg-41"),
        (_span(events=[("sentinel-reg-41 happened", {})]), "sentinel-reg-41"),
        (_span(description="RuntimeError: sentinel-reg-41"), "sentinel-reg-41"),
    ],
)
def test_a_span_with_something_to_redact_is_never_passed_on_as_is(span, secret_or_query):
    register_secret("sentinel-reg-41")
    register_secret("sentinel-sql-9f1e")
    try:
        out = tracing.redacted(span)
        assert out is not span
        assert secret_or_query not in dump([out])
        assert secret_or_query in dump([span])
    finally:
        clear_secrets()


def test_a_span_with_nothing_to_redact_is_passed_on_as_is():
    register_secret("sentinel-reg-41")
    try:
        plain = _span(
            "SELECT",
            attributes={
                # SQL is only searched for registered secrets: a column named password is not one.
                "db.statement": 'SELECT "password", "code" FROM "accounts_user" WHERE "id" = %s',
                "db.system": "postgresql",
                "net.peer.port": 5432,
                "http.url": "https://hdp.example/api/mgmt/datastores",
                "url.query": "",
                "tags": ["a", "b"],
            },
        )
        assert tracing.redacted(plain) is plain
    finally:
        clear_secrets()


def test_nothing_is_recorded_while_the_exporter_pauses(monkeypatch):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    now = [1000.0]
    monkeypatch.setattr(tracing.time, "monotonic", lambda: now[0])
    memory = InMemorySpanExporter()
    exporter = tracing.PausingExporter(memory, pause=30)
    tracing.setup(exporter, batch=False)
    try:
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("up") as span:
            assert span.is_recording()
        assert [s.name for s in memory.get_finished_spans()] == ["up"]
        memory.shutdown()  # the collector goes away: the next export fails, the pause starts
        with tracer.start_as_current_span("failed"):
            pass
        with tracer.start_as_current_span("paused") as span, tracer.start_as_current_span("child") as child:
            assert not span.is_recording() and not child.is_recording()
            # Still a trace to correlate log lines with, the parent's trace id propagated.
            assert span.get_span_context().is_valid
            assert child.get_span_context().trace_id == span.get_span_context().trace_id
        now[0] += 31
        exporter.inner = back = InMemorySpanExporter()  # the collector is back
        with tracer.start_as_current_span("probing") as span:
            assert not span.is_recording()  # the probe has not answered yet
        assert _eventually(lambda: not exporter.paused())
        with tracer.start_as_current_span("resumed") as span:
            assert span.is_recording()
        assert [s.name for s in back.get_finished_spans()] == ["resumed"]
    finally:
        tracing.teardown()


@pytest.mark.django_db
def test_while_the_collector_is_down_a_request_starts_no_span_but_keeps_a_trace_id(
    client, hdp_log, caplog, settings
):
    """The instrumentations are skipped (no span is started); log lines keep a trace id, an incoming
    traceparent's."""
    import logging

    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from portal.lib.tracing import current_ids

    settings.HDP_STORE_CACHE_SECONDS = 0  # every request reads HDP's store list
    memory = InMemorySpanExporter()
    exporter = tracing.PausingExporter(memory, pause=30)
    tracing.setup(exporter, batch=False)
    seen = []

    class Ids(logging.Handler):
        def emit(self, record):
            seen.append(current_ids())

    handler = Ids()
    caplog.set_level(logging.INFO, logger="portal.hdp")
    logging.getLogger("portal.hdp").addHandler(handler)
    upstream = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    try:
        assert sign_in(client).status_code == 302
        hdp_log.clear()
        seen.clear()
        assert client.get(reverse("onboarding:new"), HTTP_TRACEPARENT=upstream).status_code == 200
        traced = memory.get_finished_spans()
        assert any(s.kind == trace.SpanKind.SERVER for s in traced)
        assert any(s.name.startswith("HDP ") for s in traced)
        assert seen and all(ids and ids[0] == "ab" * 16 for ids in seen)

        exporter.unreachable()  # the collector is down
        memory.clear()
        hdp_log.clear()
        seen.clear()
        sampler = trace.get_tracer_provider().sampler
        asked = []
        should_sample = sampler.should_sample
        sampler.should_sample = lambda *args, **kwargs: (
            asked.append(args[2]) or should_sample(*args, **kwargs)
        )
        assert client.get(reverse("onboarding:new"), HTTP_TRACEPARENT=upstream).status_code == 200
        assert memory.get_finished_spans() == ()
        # Only the portal's own HDP span was begun; Django's, httpx's and the database's were not.
        assert asked and all(name.startswith("HDP ") for name in asked), asked
        assert hdp_log  # HDP was called, under no span
        assert seen and all(ids and ids[0] == "ab" * 16 for ids in seen)  # the upstream trace, continued
        seen.clear()
        assert client.get(reverse("onboarding:new")).status_code == 200
        assert seen and all(ids for ids in seen) and len({ids[0] for ids in seen}) == 1  # one new trace
    finally:
        logging.getLogger("portal.hdp").removeHandler(handler)
        tracing.teardown()
    assert "portal.ops.tracing.RequestTracingMiddleware" not in settings.MIDDLEWARE


@pytest.mark.django_db
def test_while_the_collector_is_down_a_task_is_not_instrumented():
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = tracing.PausingExporter(InMemorySpanExporter(), pause=30)
    tracing.setup(exporter, batch=False)
    worker = in_process_worker(max_tasks=1)
    try:
        results = []
        for down in (False, True):
            if down:
                exporter.unreachable()
            row = DBTaskResult.objects.get(id=instrumentation_enabled.enqueue().id)
            worker.run_task(row)
            row.refresh_from_db()
            results.append(row.return_value)
        assert results == [True, False]
    finally:
        tracing.teardown()
