"""The bench's bare signed-in view (issue 10; README.md "Benchmark").

``scripts/bench.py`` judges each page against "a bare signed-in Django view": the same middleware,
session, authentication and periodic HDP re-check as every portal page, but no template, no form and
no HDP call of its own. It is mounted only when ``PORTAL_BENCH_VIEWS`` is on (portal/urls.py; off by
default, so the URL does not exist anywhere else). Signed out, LoginRequiredMiddleware sends the person
to the sign-in page as it does for every page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain; charset=utf-8")
