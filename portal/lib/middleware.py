from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from portal.lib.logging import set_request_context

#: An ``X-Request-ID`` from the proxy in front is kept when it looks like an id; anything else is replaced.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every portal page (wizard, callback, secret forms).

    Static files are served by WhiteNoise before this runs. A back button then shows the server's
    current state instead of a cached, resubmittable form (SECURITY.md item 28).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response


class SessionIdleRefreshMiddleware:
    """Keep the idle expiry (``SESSION_COOKIE_AGE``) without rewriting the session on every request.

    Django's ``SESSION_SAVE_EVERY_REQUEST`` wrote the session row on each request. Here a signed-in
    session is marked modified (so SessionMiddleware saves it and pushes its expiry forward) only when
    its last refresh is more than ``SESSION_REFRESH_SECONDS`` old: a person idle for the full window is
    still signed out, give or take that many seconds.
    """

    KEY = "_idle_refreshed_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if session.is_empty() or session.modified:
            if session.modified and not session.is_empty():
                session[self.KEY] = int(time.time())
            return response
        last = session.get(self.KEY)
        if not isinstance(last, int) or time.time() - last >= settings.SESSION_REFRESH_SECONDS:
            session[self.KEY] = int(time.time())
        return response


class RequestContextMiddleware:
    """The request id, person id and tenant id of every log line of a request (JSON logs).

    The id comes from the proxy's ``X-Request-ID`` when it is a plain token, else a new one; it is
    sent back in ``X-Request-ID`` so a person reporting a problem can quote it. The person and tenant
    are ids only (never names), read after the authentication middleware has loaded the person.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        set_request_context(request_id=request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            set_request_context(person_id=user.pk, tenant_id=getattr(user, "hdp_tenant_id", None))
