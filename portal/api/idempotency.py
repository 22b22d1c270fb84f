"""``Idempotency-Key`` on writes: the first answer is kept 24 hours and replayed to a retry.

A key belongs to the token's person. The request's fingerprint is SHA-256 over method, path, body and
that person: a retry with the same key and fingerprint gets the stored answer (status, body,
``Location``) and nothing is done twice; the same key with another request is refused (422). While
the first request is still being answered, a retry gets 409. The rows are in the database (several
instances share them) and older ones are swept as new keys arrive.

An answer that carries a secret shown once (a handoff link) is stored through ``redact``: the kept
body has the secret left out, so a replay never shows it again (only the link's hash is stored
anywhere; docs/api.md "Idempotency").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.api.models import IdempotentRequest
from portal.api.problems import Problem

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY = 255
#: Printable ASCII, no leading or trailing space (also the OpenAPI document's pattern for the header).
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"


def fingerprint(request: HttpRequest, user_id: int) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, str(user_id)):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(row: IdempotentRequest) -> HttpResponse:
    answer = HttpResponse(row.body, status=row.status_code or 200, content_type="application/json")
    if row.status_code and row.status_code >= 400:
        answer["Content-Type"] = "application/problem+json"
    if row.location:
        answer["Location"] = row.location
    answer["Idempotent-Replayed"] = "true"
    return answer


def run_once(
    request: HttpRequest,
    user_id: int,
    answer: Callable[[], HttpResponse],
    redact: Callable[[str], str] | None = None,
) -> HttpResponse:
    """``answer()`` once per key; without the header, every request is answered anew. ``redact`` turns
    a successful answer's body into the body kept for replays (what must not be shown twice left out)."""
    key = request.headers.get(HEADER)
    if key is None:
        return answer()
    if not re.fullmatch(KEY_PATTERN, key):
        raise Problem(
            422,
            "invalid_idempotency_key",
            _("The Idempotency-Key header must be 1 to 255 printable ASCII characters."),
            errors=[{"field": "header.Idempotency-Key", "message": _("1 to 255 printable ASCII characters")}],
        )
    now = timezone.now()
    IdempotentRequest.objects.filter(created_at__lt=now - TTL).delete()
    mine = fingerprint(request, user_id)
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(user_id=user_id, key=key, fingerprint=mine, created_at=now)
    except IntegrityError:
        found = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
        if found is None:  # swept in between: answer anew
            return answer()
        if found.fingerprint != mine:
            raise Problem(
                422,
                "idempotency_key_reused",
                _(
                    "This Idempotency-Key was already used for a different request in the last 24 hours. "
                    "Use a new key for a new request."
                ),
            ) from None
        if found.status_code is None:
            raise Problem(
                409,
                "idempotency_in_progress",
                _("The first request with this Idempotency-Key is still being answered. Retry in a moment."),
                headers={"Retry-After": "1"},
            ) from None
        return _replay(found)
    try:
        response = answer()
    except BaseException:
        IdempotentRequest.objects.filter(pk=row.pk).delete()
        raise
    if response.status_code >= 500:
        IdempotentRequest.objects.filter(pk=row.pk).delete()  # a fault: let the retry try again
        return response
    kept = response.content.decode()
    if redact is not None and response.status_code < 400:
        kept = redact(kept)
    IdempotentRequest.objects.filter(pk=row.pk).update(
        status_code=response.status_code,
        body=kept,
        location=str(response.get("Location", ""))[:500],
    )
    return response
