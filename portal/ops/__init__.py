"""Operations: /healthz, /readyz, /metrics and OpenTelemetry tracing (docs/deploy.md "Operations").

The top layer: it may read every part's models to compute the domain gauges; no part imports it (the
lower layers record metrics and spans through ``portal.lib.metrics`` and ``portal.lib.tracing``).
"""
