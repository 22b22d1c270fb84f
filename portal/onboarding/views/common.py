"""What every wizard page shares: the run lookup, rendering a step, failures in plain words, moving on.

Every run lookup goes through :func:`get_run`: the run must belong to the signed-in person *and*
its tenant must be one they may use, else 404 before any HDP call (SECURITY.md item 20). Forms keep
``action``/``method`` so everything works without JavaScript; under htmx the step body is swapped
into ``#wizard`` (``template.html#wizard-body``) and errors come back as 200 (htmx 2 does not swap
4xx/5xx). HDP work goes through ``portal.onboarding.engine``, which holds the run's lease (a second
click gets "already working on it": :func:`busy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from portal.accounts.models import User
from portal.hdp import client as hdp
from portal.hdp import errors
from portal.lib.events import fingerprint, security_event
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther, goto
from portal.oauth import flows, presets
from portal.onboarding import engine, wizard
from portal.onboarding.models import RemoteObject, Run


def user(request: HtmxRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # LoginRequiredMiddleware guarantees a signed-in User
        raise Http404
    return user


#: A page's own lookup of ``(run id, person)``: their run (with any columns the page needs), or None.
RunFetch = Callable[[UUID, User], Run | None]


def get_run(request: HtmxRequest, run_id: UUID, *, fetch: RunFetch | None = None) -> Run:
    """The person's own run in a tenant they may use, else 404 (no HDP call is made before this).
    ``fetch``: how a page reads the person's run (columns it needs in the same query); by default the
    run alone. The tenant check below applies whatever the lookup."""
    person = user(request)
    run = Run.objects.filter(pk=run_id, owner=person).first() if fetch is None else fetch(run_id, person)
    if run is None or not person.may_use_tenant(run.tenant_id):
        # Someone else's run, or a tenant this person no longer administers (SECURITY.md 19, 20).
        exists = run is not None or Run.objects.filter(pk=run_id).exists()
        security_event("run_access_denied", request, run=fingerprint(str(run_id)), exists=exists)
        raise Http404
    return run


def client(request: HtmxRequest) -> hdp.HdpClient:
    return hdp.HdpClient.for_user(user(request))


def _template(request: HtmxRequest, name: str) -> str:
    return f"{name}#wizard-body" if request.htmx else name


def render_step(
    request: HtmxRequest,
    run: Run | None,
    step: str,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    progress: wizard.Progress | None = None,
) -> HttpResponse:
    """A wizard page with its stepper. ``progress``: where the run stood when the request began;
    after a POST it is read again (the engine may have recorded something)."""
    if run is not None and (progress is None or request.method == "POST"):
        progress = wizard.Progress.of(run)
    ctx = {
        "run": run,
        "step": step,
        "title": wizard.TITLES[step],
        "stepper": wizard.stepper(run, step, progress),
        **context,
    }
    if request.htmx and status >= 400:
        status = 200  # htmx 2 swaps only 2xx: the banner or field errors must still show
    return render(request, _template(request, name), ctx, status=status)


def problem(exc: errors.HdpError) -> tuple[str, int]:
    """Plain words for the banner, and the status for a non-htmx page."""
    return exc.explanation, 503 if isinstance(exc, errors.HdpUnavailable) else 200


def explain_failure(
    exc: errors.HdpError | engine.StepError,
    form: Any = None,
    field_map: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Put a failed step's explanation where the admin looks: next to the field it concerns
    (HDP's field errors mapped through ``field_map``; a taken name), else in the step's banner.

    Returns ``(banner, status)``; the banner is empty when every error found a field.
    """
    if isinstance(exc, errors.HdpRejected) and form is not None:
        fields = field_map or {"name": "name"}
        placed = [f for f in exc.field_errors if f in fields]
        for hdp_field in placed:
            form.add_error(fields[hdp_field], exc.field_errors[hdp_field])
        return ("" if placed else exc.explanation), 200
    if isinstance(exc, errors.HdpError):
        return problem(exc)
    if isinstance(exc, engine.NameTaken) and form is not None:
        form.add_error("name", str(exc))
        return "", 200
    if isinstance(exc, engine.SecretRequired) and form is not None and "client_secret" in form.fields:
        form.add_error("client_secret", str(exc))
        return "", 200
    return str(exc), 200


def busy(request: HtmxRequest, run: Run, step: str) -> HttpResponse:
    return render_step(
        request, run, step, "onboarding/busy.html", {"retry_url": wizard.step_url(run, step)}, 202
    )


def enter(request: HtmxRequest, run: Run, progress: wizard.Progress, step: str) -> HttpResponse | None:
    """Cancelled runs and steps whose inputs do not exist yet send the person where they belong.

    A POST while another request holds the run's lease is answered "already working on it"
    before any HDP call, even a read (the lease itself stays the real guard).
    """
    if request.method == "POST" and run.busy_until is not None and run.busy_until > timezone.now():
        return busy(request, run, step)
    if run.status == Run.Status.CANCELLED:
        messages.info(request, _("That setup was cancelled. Start a new one from this page."))
        return whole_page(request, reverse("onboarding:runs"))
    if not progress.can_enter(step):
        return whole_page(request, wizard.step_url(run, progress.current))
    return None


def whole_page(request: HtmxRequest, url: str) -> HttpResponse:
    """A whole-page move: HX-Redirect under htmx (never a full page nested in #wizard), else 302."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def advance(request: HtmxRequest, run: Run, step: str, query: str = "") -> HttpResponse:
    """After a successful POST: 303 to the next step, or (htmx) its body in place + HX-Push-Url.
    ``query`` (e.g. ``"checked=1"``) goes on the next step's URL."""
    url = wizard.step_url(run, step) + (f"?{query}" if query else "")
    if not request.htmx:
        return HttpResponseSeeOther(url)
    if step == "authorize":
        # A CSP belongs to the document: the authorize page must be a fresh page load so that its
        # form-action allows the provider's origin (the Connect POST answers 303 to the provider).
        return goto(request, url)
    request.method = "GET"
    request.POST = QueryDict()
    request.GET = QueryDict(query)
    match = resolve(wizard.step_url(run, step))  # the step's own view, as a GET
    response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    response["HX-Push-Url"] = url
    return response


def validate_url(run: Run) -> Callable[[str], str]:
    return lambda field: reverse("onboarding:validate", kwargs={"run_id": run.pk, "field": field})


def redirect_uri(app_name: str) -> str:
    """The exact callback address to register at the provider ("" while the name is invalid)."""
    try:
        return flows.redirect_uri_for(app_name)
    except ValueError:
        return ""


def preset(run: Run) -> presets.Preset:
    preset = presets.get_preset(run.preset)
    if preset is None:  # e.g. the sandbox preset after the sandbox was switched off
        preset = presets.PRESETS["custom"]
    return preset


def scopes_in_words(preset: presets.Preset, scope: str) -> list[tuple[str, str]]:
    """Each scope with what it allows in plain words ("" where the preset has no words for it)."""
    return [(s, preset.describe_scope(s)) for s in scope.split()]


def objects(made: list[RemoteObject]) -> list[RemoteObject]:
    """The run's HDP objects in wizard order (application, profile, data source)."""
    order = {RemoteObject.Kind.APP: 0, RemoteObject.Kind.PROFILE: 1, RemoteObject.Kind.DATASOURCE: 2}
    return sorted(made, key=lambda o: order.get(RemoteObject.Kind(o.kind), 9))
