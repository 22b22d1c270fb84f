"""A completed setup's sign-in lifetime rule (issue 22 item 2; foresight.py does the work).

A plain form POST answered with a 303 back to the setup page's "Sign-in" section (works without
JavaScript); a refused value is said there, next to nothing else lost (the rule in force stays).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.connections import foresight
from portal.connections.forms import SigninRuleForm
from portal.connections.views import common
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import presets


@require_POST
def change_rule(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    preset = presets.get_preset(run.preset) or presets.PRESETS["custom"]
    form = SigninRuleForm(request.POST, preset=preset, rule=run.signin_rule, days=run.signin_rule_days)
    if not form.fields or not form.is_valid():
        error = next((str(e) for errors in form.errors.values() for e in errors), "")
        messages.error(request, error or _("There is nothing to choose for this provider."))
        return HttpResponseSeeOther(common.setup_url(run, "signin"))
    rule, days = form.chosen()
    answer = foresight.change_rule(run, rule, days, actor=common.user(request).username)
    if answer.changed:
        messages.success(
            request, _("The sign-in lifetime rule was saved: %(line)s.") % {"line": answer.forecast.line()}
        )
    else:
        messages.info(request, _("Nothing was changed."))
    return HttpResponseSeeOther(common.setup_url(run, "signin"))
