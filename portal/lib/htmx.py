"""htmx helpers: a typed request and one way to move to another page (django-htmx patterns)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303


def goto(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect after a POST: a full-page client redirect for htmx, a 303 otherwise."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseSeeOther(url)
