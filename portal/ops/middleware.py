"""The operations endpoints and the request metrics (first in ``settings.MIDDLEWARE``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.lib import metrics
from portal.ops import views

Handler = Callable[[HttpRequest], HttpResponse]


class OpsEndpointsMiddleware:
    """Answers ``/healthz``, ``/readyz`` and (with the token) ``/metrics`` before anything else runs.

    ``/metrics`` without ``PORTAL_METRICS_TOKEN`` set, or without the right bearer token, falls
    through to the URL resolver, which knows no such path: the same 404 as any unknown address, so
    the endpoint does not reveal itself.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if request.method in ("GET", "HEAD"):
            if path == "/healthz":
                return views.healthz(request)
            if path == "/readyz":
                return views.readyz(request)
            if path == "/metrics" and views.token_matches(request):
                return views.metrics(request)
        return self.get_response(request)


class RequestMetricsMiddleware:
    """``hdp_portal_request_duration_seconds{view, status_class}``: the view label is the resolved URL
    name (``onboarding:runs``), "unresolved" when no URL matched; never the path."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or "unnamed") if match is not None else "unresolved"
        metrics.REQUEST_DURATION.labels(view, metrics.status_class(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
