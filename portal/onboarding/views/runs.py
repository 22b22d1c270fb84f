"""My setups, step a (tenant, data store, provider), resume and cancel."""

from __future__ import annotations

import uuid
from typing import cast
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, connections, router, transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.hdp import errors
from portal.hdp.schemas import DataStore, DataStoreDetail
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.oauth import handoff, presets
from portal.onboarding import catalogue, engine, forms, signals, stores, wizard
from portal.onboarding.models import RemoteObject, Run
from portal.onboarding.views import common

# --- My setups -------------------------------------------------------------------------------------
RUNS_PER_PAGE = 25
#: A run id no run has, for reversing a row's URL once per page (:func:`runs`).
_SLOT = UUID(int=0)


@require_GET
@vary_on_headers("HX-Request")
def runs(request: HtmxRequest) -> HttpResponse:
    """The person's setups, most recent first, ``RUNS_PER_PAGE`` a page: the same few SQL queries
    whatever the number of runs (the page with the total count, its records, the statuses of its setups)."""
    user = common.user(request)
    tenant_ids = [int(str(t["id"])) for t in user.onboarding_tenants()]
    rows = []
    page = _page(user, tenant_ids, request.GET.get("page"))
    runs = list(page.object_list)
    completed = [r for r in runs if r.status == Run.Status.COMPLETED]
    connection = _connection_statuses([r.pk for r in completed])
    foreseen = _foreseen(completed)
    # "Waiting for {owner} to sign in (link valid until ...)" for a first consent asked of someone else.
    waiting = handoff.waiting_lines(user)
    # Each row's links: each URL reversed once for the page with a placeholder id, then the run's id put in.
    slot, reversed_once = str(_SLOT), dict[str, str]()

    def link(name: str, run: Run) -> str:
        if name not in reversed_once:
            reversed_once[name] = reverse(name, args=[_SLOT])
        return reversed_once[name].replace(slot, str(run.pk))

    for run in runs:
        step = wizard.Progress.of(run).current
        active = run.status == Run.Status.ACTIVE
        rows.append(
            {
                "run": run,
                "step": step,
                "step_title": wizard.SHORT[step],
                "connection": connection.get(run.pk),
                "handoff": waiting.get(run.pk, ""),
                "signin": foreseen.get(run.pk),
                "resume_url": link("onboarding:resume", run) if active else "",
                "cancel_url": link("onboarding:cancel", run) if active else "",
                "setup_url": link("connections:setup", run) if run.status == Run.Status.COMPLETED else "",
            }
        )
    return render(
        request,
        "onboarding/runs.html",
        {"rows": rows, "page": page, "missing": user.missing_onboarding_permissions()},
    )


class _CountedPaginator(Paginator[Run]):
    """A paginator whose total was counted by the page's own query."""

    def __init__(self, object_list: QuerySet[Run], per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._counted = count

    @cached_property
    def count(self) -> int:
        return self._counted


#: One page of :func:`_page` with the total in each row, in plain SQL: built through the ORM (the run's
#: 45 columns, the window annotation) it cost about 1 ms of CPU more than the query itself.
_PAGE_SQL = (
    "SELECT r.*, COUNT(*) OVER () AS setups_total FROM {runs} r WHERE r.owner_id = %s AND r.tenant_id IN ({tenants}) "
    "ORDER BY r.updated_at DESC, r.id LIMIT %s OFFSET %s"
)


def _page(user: User, tenant_ids: list[int], number: str | None) -> Page[Run]:
    """The person's runs in ``tenant_ids``, newest first (``-updated_at``, then ``pk``), with their
    records: ``Paginator(mine, RUNS_PER_PAGE).get_page(number)`` in one query instead of two, the page's
    rows carrying the total (``COUNT(*) OVER ()``), so no separate COUNT. A number past the last page (or
    below 1) shows the last page, as ``get_page`` does (with its COUNT); one that is not a number, the first."""
    mine = Run.objects.filter(owner=user, tenant_id__in=tenant_ids).order_by("-updated_at", "pk")
    try:
        wanted = int(number) if number is not None else 1
    except ValueError:
        wanted = 1
    if wanted >= 1:
        rows: list[Run] = []
        if tenant_ids:
            db = router.db_for_read(Run)
            sql = _PAGE_SQL.format(
                runs=connections[db].ops.quote_name(Run._meta.db_table),
                tenants=", ".join(["%s"] * len(tenant_ids)),
            )
            params = (user.pk, *tenant_ids, RUNS_PER_PAGE, (wanted - 1) * RUNS_PER_PAGE)
            rows = list(Run.objects.using(db).raw(sql, params))
        if rows or wanted == 1:
            prefetch_related_objects(rows, "objects_made")
            total = int(getattr(rows[0], "setups_total", 0)) if rows else 0
            return Page(rows, wanted, _CountedPaginator(mine, RUNS_PER_PAGE, total))
    return Paginator(mine.prefetch_related("objects_made"), RUNS_PER_PAGE).get_page(number)


def _connection_statuses(run_ids: list[UUID]) -> dict[UUID, signals.SetupStatus]:
    """The connection status of each completed setup, from whoever answers ``setups_listed``
    (portal.connections: stored checks, a fixed number of queries); empty when nobody does."""
    statuses: dict[UUID, signals.SetupStatus] = {}
    if run_ids:
        for _receiver, answer in signals.setups_listed.send(sender=Run, run_ids=run_ids):
            statuses.update(cast("dict[UUID, signals.SetupStatus]", answer or {}))
    return statuses


def _foreseen(completed: list[Run]) -> dict[UUID, signals.SetupForesight]:
    """The sign-in's expected end of each completed setup, from whoever answers ``setups_foreseen``."""
    answers: dict[UUID, signals.SetupForesight] = {}
    if completed:
        for _receiver, answer in signals.setups_foreseen.send(sender=Run, runs=completed):
            answers.update(cast("dict[UUID, signals.SetupForesight]", answer or {}))
    return answers


# --- step a: tenant, data store, provider ------------------------------------------------------------
def _setup_id(request: HtmxRequest) -> UUID | None:
    try:
        return UUID(request.POST.get("setup_id", ""))
    except ValueError:
        return None


def _resubmitted(request: HtmxRequest, run: Run) -> HttpResponse:
    """The same step-a page posted again: continue the run it created (only the owner's, else 404)."""
    user = common.user(request)
    if run.owner_id != user.pk or not user.may_use_tenant(run.tenant_id):
        raise Http404
    return common.advance(request, run, wizard.current(run))


def _start(
    request: HtmxRequest,
    form: forms.StoreForm,
    store: DataStore,
    preset: presets.Preset,
    detail: DataStoreDetail,
) -> HttpResponse:
    """Record the new run (no HDP call inside the transaction), then on to the application."""
    user = common.user(request)
    tenants = user.onboarding_tenants()
    tenant_id = form.cleaned_data.get("tenant") or int(str(tenants[0]["id"]))
    if not user.may_use_tenant(tenant_id):  # the choice list already limits it; belt and braces
        raise Http404
    tenant_name = next(str(t["name"]) for t in tenants if int(str(t["id"])) == tenant_id)
    try:
        with transaction.atomic():  # no HDP call inside
            run = Run.objects.create(
                pk=form.cleaned_data.get("setup_id") or uuid.uuid4(),
                owner=user,
                tenant_id=tenant_id,
                tenant_name=tenant_name,
                datastore_id=store.id,
                datastore_name=store.name,
                preset=preset.key,
                datastore_option_defs=[o.model_dump() for o in detail.options],
            )
    except IntegrityError:  # the same page submitted twice at once
        return _resubmitted(request, get_object_or_404(Run, pk=form.cleaned_data["setup_id"]))
    AuditEntry.record(user.username, "run.started", run=run, datastore=store.name, preset=preset.key)
    return common.advance(request, run, "app")


def _chosen_store(request: HtmxRequest, offered: list[DataStoreDetail]) -> DataStoreDetail | None:
    """The store named in the POST, if it is one step a offers (the form checks it again)."""
    value = request.POST.get("datastore", "")
    return next((s for s in offered if str(s.id) == value), None)


def _store_form(
    request: HtmxRequest, offered: list[DataStoreDetail], chosen: DataStoreDetail | None
) -> forms.StoreForm:
    providers = stores.providers_for(chosen) if chosen is not None else []
    return forms.StoreForm(
        request.POST or None,
        tenants=common.user(request).onboarding_tenants(),
        stores=[(s.id, s.name) for s in offered],
        providers=[(p.key, str(p.label)) for p in providers],
    )


def _provider_key(request: HtmxRequest, form: forms.StoreForm, chosen: DataStore) -> str:
    """The chosen provider; the only one when there is no choice to make; "" = ask for it (a
    missing answer to a provider question that was shown is an error next to it)."""
    providers = stores.providers_for(chosen)
    if len(providers) == 1:
        return providers[0].key
    key = str(form.cleaned_data.get("provider") or "")
    if not key and request.POST.get("stage") == "provider":
        form.add_error("provider", _("Choose who signs you in to %(store)s.") % {"store": chosen.name})
    return key


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def new(request: HtmxRequest) -> HttpResponse:
    """Step a: the store first; then, where there is more than one, the provider (the store stays
    shown as chosen). Both stages post here, so the page works without JavaScript."""
    user = common.user(request)
    if missing := user.missing_onboarding_permissions():
        return render(request, "onboarding/no_permission.html", {"missing": missing}, status=403)
    setup_id = _setup_id(request)
    if setup_id is not None and (earlier := Run.objects.filter(pk=setup_id).first()) is not None:
        return _resubmitted(request, earlier)  # before any HDP call
    banner, status = "", 200
    listed: list[DataStoreDetail] = []
    try:
        with common.client(request) as client:
            # One read for all of step a's pages (portal/onboarding/catalogue.py).
            listed = catalogue.listed(client, user.pk)
    except errors.HdpError as exc:
        banner, status = common.problem(exc)
    offered = stores.offered_stores(listed)
    chosen = _chosen_store(request, offered) if request.method == "POST" else None
    form = _store_form(request, offered, chosen)
    valid = request.method == "POST" and not banner and form.is_valid()
    first_stage_ok = chosen is not None and not {"datastore", "tenant"} & set(form.errors)
    stage = "provider" if request.method == "POST" and first_stage_ok else "store"
    if valid and chosen is not None:
        preset_key = _provider_key(request, form, chosen)
        preset = presets.get_preset(preset_key) if preset_key else None
        if preset is not None:
            try:
                with common.client(request) as client:
                    detail = catalogue.detail(client, user.pk, chosen)
            except errors.HdpError as exc:
                banner, status = common.problem(exc)
            else:
                if detail.option(forms.OAUTH_PROFILE_OPTION) is not None:
                    return _start(request, form, chosen, preset, detail)
                stage = "store"
                form.add_error(
                    "datastore",
                    _("%(store)s can't use an OAuth profile on this HDP server; choose another data store.")
                    % {"store": chosen.name},
                )
    context = {
        "form": form,
        "banner": banner,
        "stage": stage,
        "chosen": chosen if stage == "provider" else None,
        "store_rows": [{"store": s, "summary": stores.store_summary(s)} for s in offered],
        "providers": stores.providers_for(chosen) if chosen is not None and stage == "provider" else [],
        "picked_store": str(form["datastore"].value() or ""),
        "picked_provider": str(form["provider"].value() or ""),
    }
    return common.render_step(request, None, "store", "onboarding/step_store.html", context, status)


@require_GET
@vary_on_headers("HX-Request")
def step_store(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    progress = wizard.Progress.of(run)
    if response := common.enter(request, run, progress, "store"):
        return response
    context = {"preset": common.preset(run), "done": True}
    return common.render_step(request, run, "store", "onboarding/step_store.html", context, progress=progress)


# --- resume and cancel -------------------------------------------------------------------------------
@require_GET
def resume(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Check what really exists in HDP (engine.reconcile), then go to the first unfinished step."""
    run = common.get_run(request, run_id)
    if run.status == Run.Status.CANCELLED:
        messages.info(request, _("That setup was cancelled. Start a new one from this page."))
        return redirect("onboarding:runs")
    if run.status == Run.Status.COMPLETED:
        # A completed setup has its own page in portal.connections (a URL name is not an import).
        return redirect("connections:setup", run.pk)
    try:
        with common.client(request) as client:
            findings = engine.reconcile(run, client)
    except engine.StepBusy:
        return common.busy(request, run, wizard.current(run))
    except engine.ReconcileConflict as exc:
        messages.error(request, str(exc))
    except errors.HdpError as exc:
        messages.warning(
            request,
            _("The portal could not check HDP before resuming: %(why)s") % {"why": exc.explanation},
        )
    else:
        for finding in findings:
            messages.info(request, finding)
    run.refresh_from_db()
    return redirect(wizard.step_url(run, wizard.current(run)))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def cancel(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    run = common.get_run(request, run_id)
    if run.status != Run.Status.ACTIVE:
        messages.info(request, _("That setup is already finished or cancelled; nothing to cancel."))
        return redirect("onboarding:runs")
    made = common.objects(list(run.objects_made.all()))
    doomed = [
        o
        for o in made
        if o.created_by_run and o.outcome in (RemoteObject.Outcome.CREATED, RemoteObject.Outcome.PENDING,
                                              RemoteObject.Outcome.UNKNOWN)
    ]  # fmt: skip
    kept = [o for o in made if not o.created_by_run and o.outcome == RemoteObject.Outcome.REUSED]
    banner, status = "", 200
    if request.method == "POST":
        try:
            with common.client(request) as client:
                findings = engine.cancel(run, client)
        except engine.StepBusy:
            return common.busy(request, run, wizard.current(run))
        except (errors.HdpError, engine.StepError) as exc:
            banner, status = common.explain_failure(exc)
        else:
            messages.success(request, _("The setup was cancelled."))
            for finding in findings:
                messages.info(request, finding)
            return HttpResponseSeeOther(reverse("onboarding:runs"))
    context = {"doomed": doomed, "kept": kept, "banner": banner}
    return common.render_step(request, run, wizard.current(run), "onboarding/cancel.html", context, status)
