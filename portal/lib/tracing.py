"""Spans the portal's own code opens (OpenTelemetry API only; ``portal.ops.tracing`` sets up the SDK).

Without a configured tracer provider (the default: tracing is off unless ``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_TRACES_EXPORTER`` is set) the API's no-op tracer makes these cost a few microseconds. Lower
layers (``hdp``) open their spans here, so they never import ``portal.ops``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace


@contextmanager
def client_span(name: str, **attributes: str) -> Iterator[trace.Span]:
    """A CLIENT span around one outgoing call; ``attributes`` must be fixed-set values, never secrets."""
    # Looked up per call (not cached at import): the provider is installed later, and tests replace it.
    tracer = trace.get_tracer("portal")
    with tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
        yield span


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, None when there is none (tracing off)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
