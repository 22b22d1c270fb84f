"""A completed setup's own page: its connection status, "Check now", its check history, what HDP holds.

The status comes only from stored checks (:func:`portal.connections.checks.status_for`); the page
never calls HDP on a GET. Its "Who can use it" section is loaded in place by htmx (a link without
JavaScript) from :func:`shares`, which reads HDP's shares as the owner
(:func:`portal.onboarding.views.share.section`). "Check now" runs one real check (:func:`checks.run_check`), rate-limited
like the wizard's test and audited. The lookup is :func:`common.completed` (owner and tenant, else
404 with a security event, before any HDP call: SECURITY.md item 20).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.db import connections, router
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.connections import checks, foresight, reconnect, repair, rotate
from portal.connections.forms import SigninRuleForm
from portal.connections.models import ConnectionCheck
from portal.connections.status import Status
from portal.connections.views import common, handoff
from portal.hdp.client import HdpClient
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.lib.timewords import every
from portal.oauth import handoff as oauth_handoff
from portal.oauth import presets
from portal.onboarding.models import RemoteObject, Run
from portal.onboarding.views import share
from portal.onboarding.views.common import objects
from portal.ratelimit import limiter as ratelimit

Trigger = ConnectionCheck.Trigger

#: What started a check, in the words the history shows (a scheduled one: :func:`trigger_words`).
TRIGGERS = {
    Trigger.SETUP: gettext_lazy("Setup's final check"),
    Trigger.MANUAL: gettext_lazy("Check now"),
    Trigger.SUPPORT: gettext_lazy("Support staff"),
    Trigger.RECONNECT: gettext_lazy("After reconnecting"),
    Trigger.REPAIR: gettext_lazy("After a repair"),
}


def trigger_words(trigger: str) -> str:
    """What started a check; a scheduled one names the configured interval (HEALTH_CHECK_INTERVAL)."""
    if trigger == Trigger.SCHEDULED:
        return _("Scheduled check (%(interval)s)") % {"interval": every(settings.HEALTH_CHECK_INTERVAL)}
    return str(TRIGGERS.get(Trigger(trigger), trigger))


def _history_rows(history: list[ConnectionCheck]) -> list[dict[str, Any]]:
    """Each check's words and time, written here once rather than worked out by the template."""
    running, unfinished, scheduled = _("Checking"), _("Did not finish"), trigger_words(Trigger.SCHEDULED)
    rows = []
    for check in history:
        at = timezone.localtime(check.finished_at or check.started_at)
        if check.finished_at is None:
            result = running
        elif check.abandoned:
            result = unfinished
        else:
            result = check.get_state_display() if check.state else ""
        rows.append(
            {
                "iso": at.isoformat(),
                "when": formats.date_format(at, "DATETIME_FORMAT"),
                "result": result,
                "cause": check.get_cause_display() if check.cause else "",
                "trigger": scheduled if check.trigger == Trigger.SCHEDULED else trigger_words(check.trigger),
            }
        )
    return rows


def _context(run: Run, banner: str = "") -> dict[str, Any]:
    # The run's HDP records read once for the page (held objects, the rotate section's run.remote(),
    # the Reconnect offer), after any write of this request; they were read three times.
    prefetch_related_objects([run], "objects_made")
    held = [
        o
        for o in objects(list(run.objects_made.all()))
        if o.outcome in (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.REUSED)
    ]
    status, history = checks.status_and_history(run)  # one query for both
    return {
        "run": run,
        "status": status,
        "repair_offer": repair.offer(run, status),
        # Only the actions the last check's cause allows: no Reconnect once the profile is gone.
        "reconnect_refusal": reconnect.refusal(run, status),
        "history": _history_rows(history),
        "held": held,
        "banner": banner,
        "rotate_refusal": rotate.refusal(run),  # templates/connections/_rotate.html
        # "Ask the account owner" and the newest link's state (issue 19; views/handoff.py).
        **handoff.state_context(run),
        **_signin(run, status),  # templates/connections/_signin.html
    }


def _signin(run: Run, status: Status) -> dict[str, Any]:
    """The sign-in's expected end, its basis and the rule's form (issue 22)."""
    preset = presets.get_preset(run.preset) or presets.PRESETS["custom"]
    form = SigninRuleForm(preset=preset, rule=run.signin_rule, days=run.signin_rule_days)
    forecast = foresight.for_run(run, status)
    return {"signin": forecast, "signin_line": forecast.line(), "signin_form": form if form.fields else None}


def _page(request: HtmxRequest, run: Run, banner: str = "", status: int = 200) -> HttpResponse:
    name = "connections/setup.html#setup-status" if request.htmx else "connections/setup.html"
    if request.htmx and status >= 400:
        status = 200  # htmx 2 swaps only 2xx: the banner must still show
    # The Reconnect form on this page answers 303 to the provider: allow it in CSP form-action.
    return common.with_provider_form_action(render(request, name, _context(run, banner), status=status), run)


#: :func:`_setup_run`'s query: the run and two columns, in plain SQL. Built through the ORM (the run's
#: 45 columns, two annotations, ``.first()``'s ordering) it cost about 1.6 ms of CPU; as SQL about 0.7.
_SETUP_RUN_SQL = "SELECT {runs}.*, ({flag}) AS {flag_name}, ({cause}) AS {cause_name} FROM {runs} WHERE {pk} = %s AND {owner} = %s"


def _setup_run(run_id: UUID, person: User) -> Run | None:
    """``person``'s run ``run_id`` with, in its one query, the open repair's cause (``repair.offer``)
    and whether it has any "ask the account owner" link (``handoff.state_context`` reads the newest
    only if so); None when there is no such run of theirs."""
    db = router.db_for_read(Run)
    connection = connections[db]
    quote = connection.ops.quote_name
    runs = quote(Run._meta.db_table)
    pk = f"{runs}.{quote(Run._meta.pk.attname)}"
    flag_name, flag, flag_params = oauth_handoff.link_flag_sql(pk, db, handoff.PURPOSES)
    sql = _SETUP_RUN_SQL.format(
        runs=runs,
        pk=pk,
        owner=f"{runs}.{quote(Run._meta.get_field('owner').column)}",
        flag=flag,
        flag_name=quote(flag_name),
        cause=repair.open_cause_sql(pk, db),
        cause_name=quote(repair.OPEN_CAUSE),
    )
    params = (*flag_params, Run._meta.pk.get_db_prep_value(run_id, connection), person.pk)
    run = next(iter(Run.objects.using(db).raw(sql, params)), None)
    if run is not None:
        oauth_handoff.set_link_flag(run, handoff.PURPOSES, getattr(run, flag_name))
    return run


@require_GET
@vary_on_headers("HX-Request")
def setup(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id, fetch=_setup_run)
    if isinstance(found, HttpResponse):
        return found
    return _page(request, found)


@require_POST
@vary_on_headers("HX-Request")
def check_now(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run, person = found, common.user(request)
    if not ratelimit.hit("ds_test", person.username, settings.RATELIMIT_TEST_PER_MINUTE):
        AuditEntry.record(person.username, "connection.check", run=run, outcome="rate_limited")
        banner = _("You have run many checks in the last minute. Wait a minute, then try again.")
        return _page(request, run, banner, 429)
    try:
        with HdpClient.for_user(person) as client:
            check = checks.run_check(run, client, trigger=Trigger.MANUAL, requested_by=person.username)
    except checks.CheckBusy:
        AuditEntry.record(person.username, "connection.check", run=run, outcome="busy")
        banner = _("A check of this setup is already running. Its result shows here when it ends.")
        return _page(request, run, banner, 409)
    AuditEntry.record(person.username, "connection.check", run=run, outcome=check.state, cause=check.cause)
    if request.htmx:
        return _page(request, run)
    messages.info(request, _("The connection was checked."))
    return HttpResponseSeeOther(reverse("connections:setup", args=[run.pk]))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def shares(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Who can use it: HDP's shares now and the form (GET; the setup page loads it in place), share,
    remove one share, change one share's permissions (POST: ``share.save`` / ``share.change_one``); the
    answer lists HDP's shares as read back after the change. Under htmx the section alone."""
    found = common.completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    outcome = share.Outcome(None)
    if request.method == "POST":
        outcome = share.change_one(request, run) if request.POST.get("change") else share.save(request, run)
    url = reverse("connections:shares", args=[run.pk])
    context = share.section(
        request,
        run,
        action=url,
        page_url=url,
        result=outcome.result,
        banner=outcome.banner,
        message=outcome.message,
        post=request.POST if outcome.banner and outcome.result is None else None,
    )
    name = "onboarding/_sharing.html" if request.htmx else "connections/shares.html"
    return render(request, name, {"run": run, **context})
