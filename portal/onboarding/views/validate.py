"""Inline validation of one field as the admin types (local checks only, never HDP)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from portal.lib.htmx import HtmxRequest
from portal.oauth import uris
from portal.onboarding import forms
from portal.onboarding.models import Run
from portal.onboarding.views import common

# The checks below use this name (kept as written when views.py was split).
from portal.onboarding.views.common import preset as _preset

_FIELDS: dict[str, tuple[str, Callable[[Run, str], str]]] = {
    "app_name": ("name", lambda run, v: forms.check_hdp_name(v)),
    "profile_name": ("name", lambda run, v: forms.check_hdp_name(v)),
    "ds_name": ("name", lambda run, v: forms.check_ds_name(v)),
    "authorize_uri": (
        "authorize_uri",
        lambda run, v: uris.check_provider_uri(v, preset=_preset(run), kind="authorize"),
    ),
    "token_uri": (
        "token_uri",
        lambda run, v: uris.check_provider_uri(v, preset=_preset(run), kind="token"),
    ),
}  # fmt: skip


@require_POST
def validate(request: HtmxRequest, run_id: UUID, field: str) -> HttpResponse:
    run = common.get_run(request, run_id)
    if field not in _FIELDS:
        raise Http404
    html_name, check = _FIELDS[field]
    value = request.POST.get(html_name, "")
    problems: list[str] = []
    try:
        value = check(run, value)
    except ValidationError as exc:
        problems = list(exc.messages)
    context = {
        "errors": problems,
        "eid": f"id_{html_name}-error",
        "redirect_uri": common.redirect_uri(value) if field == "app_name" and not problems else "",
        "show_redirect": field == "app_name",
    }
    return render(request, "onboarding/validate.html", context)
