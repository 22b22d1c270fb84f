"""RFC 9457 problem details (``application/problem+json``) for every error the API answers.

``type`` is ``about:blank`` (the status says what kind of problem it is), ``title`` the HTTP
status phrase, ``detail`` the same plain words the pages use, ``code`` a stable machine-readable
name; a validation problem lists ``errors`` with the field each one is about.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse
from ninja import Schema

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise anywhere in an API operation to answer with this problem."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code, **extra}


def response(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    answer = HttpResponse(
        json.dumps(body(status, code, detail, **extra)), status=status, content_type=MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        answer[name] = value
    return answer


def of(problem: Problem) -> HttpResponse:
    return response(problem.status, problem.code, problem.detail, headers=problem.headers, **problem.extra)


class ProblemField(Schema):
    field: str
    message: str


class ProblemDetails(Schema):
    """RFC 9457 problem details, as every error of the API is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemField] | None = None
