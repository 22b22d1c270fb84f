"""Under ``/api/v1/``, an error answer that is not JSON yet (ninja's 405, Django's 404/400/403/500
pages) is replaced by RFC 9457 problem details, so clients never have to parse HTML."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from portal.api import problems

PREFIX = "/api/v1/"
DOCS = "/api/v1/docs"


def _words(status: int) -> str:
    if status == 405:
        return _("This API address does not accept that method. See /api/v1/docs.")
    if status == 404:
        return _("There is no such API address. See /api/v1/docs.")
    if status >= 500:
        return _("Something went wrong on the portal's side. Try again; if it keeps happening, tell support.")
    return _("The request was refused.")


class ApiProblemMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(PREFIX)
            or request.path.startswith(DOCS)
            or "json" in response.get("Content-Type", "")
        ):
            return response
        status = response.status_code
        code = (
            HTTPStatus(status).phrase.lower().replace(" ", "_")
            if status in HTTPStatus._value2member_map_
            else "error"
        )
        answer = problems.response(status, code, _words(status))
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                answer[header] = response[header]
        return answer
