"""Tracing on for one test, with every ended span kept in memory (after the portal's redaction)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from portal.ops import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """``portal.ops.tracing.setup`` with an in-memory exporter (synchronous), undone afterwards."""
    exporter = InMemorySpanExporter()
    tracing.setup(exporter, batch=False)
    try:
        yield exporter
    finally:
        tracing.teardown()


def dump(finished: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> str:
    """Everything a span exports: name, status description, attributes, events and their attributes, links'
    attributes."""
    parts = []
    for span in finished:
        parts.append(span.name)
        parts.append(span.status.description or "")
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        for event in span.events:
            parts.append(event.name + json.dumps(dict(event.attributes or {}), default=str))
        for link in span.links:
            parts.append(json.dumps(dict(link.attributes or {}), default=str))
    return "\n".join(parts)
