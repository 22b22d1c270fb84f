"""Per-response Content-Security-Policy additions (django-csp 4 reads ``response._csp_update``)."""

from __future__ import annotations

from django.http import HttpResponse


def allow_form_action(response: HttpResponse, origin: str) -> HttpResponse:
    """Allow ``origin`` in this response's ``form-action``.

    Chromium applies form-action to the redirect that follows a form POST: a form whose POST answers
    303 to a provider (Connect, Reconnect, a repair's sign-in) needs the provider's origin allowed on
    the page that holds the form. An empty ``origin`` adds nothing.
    """
    if origin:
        response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]
    return response
