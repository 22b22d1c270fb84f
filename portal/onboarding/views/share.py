"""The last, optional step "Who can use it" (issue 20), and the section a completed setup's page shares.

The data source is always the run's own (``run.remote_id("datasource")``), never an id from the
request, and every HDP call is made as the run's owner (``HdpClient.for_user``), so a hand-made POST
can share only what the signed-in person owns: the run lookup is the owner-and-tenant gate
(:func:`portal.onboarding.views.common.get_run`), and HDP refuses the rest (docs/decisions.md,
"Sharing"). Nothing is retried: the page shows HDP's shares as read back after the change
(:class:`portal.onboarding.sharing.ShareResult`), and every change is audited with before and after.

Works without JavaScript: the people filter is a GET form (``?q=``), choices are checkboxes and
selects in one POST form; htmx swaps the section in place (``#sharing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from portal.accounts.models import PERM_ADMINISTRATOR, User
from portal.audit.models import AuditEntry
from portal.hdp.client import HdpClient
from portal.hdp.errors import HdpError
from portal.lib.htmx import HtmxRequest, HttpResponseSeeOther
from portal.onboarding import sharing, wizard
from portal.onboarding.models import Run
from portal.onboarding.sharing import Access, Person, ShareResult, Shares, SharingInputError
from portal.onboarding.views import common

#: From this many people on, the section offers the name filter (it always honours ``?q=``).
SEARCH_FROM = 8


def may_share_with_tenant(person: User, run: Run) -> bool:
    """Only an administrator of the run's tenant (or HDP's Administrator) may share with the whole tenant."""
    if PERM_ADMINISTRATOR in set(person.hdp_permissions or []):
        return True
    return any(int(str(t["id"])) == run.tenant_id for t in person.hdp_tenants_administered or [])


def reads_as(run: Run) -> str:
    """Whose provider account everyone shared with reads the store as (the identity recorded at consent)."""
    identity = run.consent_identity()
    if identity is None:
        return _(
            "Everyone you share with reads %(store)s as the provider account that consented in this setup, "
            "with what that account may see. The provider did not say which account that is."
        ) % {"store": run.datastore_name}
    return _("Everyone you share with reads %(store)s as %(account)s, with what that account may see.") % {
        "store": run.datastore_name,
        "account": identity.label(),
    }


@dataclass(frozen=True)
class ShareRow:
    """One share as HDP has it, for the page: who (by name), and what they may do in words or ids."""

    kind: Literal["user", "tenant"]
    member_id: int
    name: str
    access: Access | None
    permissions: tuple[int, ...]

    @property
    def what(self) -> str:
        if self.access is not None:
            return self.access.label
        ids = ", ".join(str(p) for p in self.permissions)
        return _("Permissions set in HDP: %(ids)s") % {"ids": ids}


def _rows(shares: Shares, names: dict[int, str], run: Run) -> list[ShareRow]:
    rows = [
        ShareRow(
            "tenant",
            t.tenant_id,
            _("The whole tenant %(name)s") % {"name": run.tenant_name}
            if t.tenant_id == run.tenant_id
            else _("The whole tenant #%(id)s") % {"id": t.tenant_id},
            t.access,
            tuple(sorted(t.permissions)),
        )
        for t in shares.tenants
    ]
    rows += [
        ShareRow(
            "user",
            u.user_id,
            names.get(u.user_id) or _("User #%(id)s") % {"id": u.user_id},
            u.access,
            tuple(sorted(u.permissions)),
        )
        for u in shares.users
    ]
    return rows


def _drift_rows(run: Run, shares: Shares, names: dict[int, str]) -> dict[str, list[ShareRow]] | None:
    """Where HDP's shares differ from what the portal last set; ``None`` when they agree (or it set none)."""
    if run.shares_set is None:
        return None
    found = sharing.drift(Shares.from_dict(run.shares_set), shares)
    if found.none:
        return None
    return {
        "added": _rows(found.added, names, run),
        "removed": _rows(found.removed, names, run),
        "changed": _rows(found.changed, names, run),
    }


def _form_state(shares: Shares | None, post: QueryDict | None) -> dict[str, Any]:
    """What the form shows as chosen: what was just posted (after a refusal nothing is lost), else HDP's now."""
    if post is not None:
        return {
            "scope": post.get("scope", "only_me"),
            "chosen": {str(u): post.get(f"access_{u}", Access.QUERY.value) for u in post.getlist("user")},
            "tenant_access": post.get("tenant_access", Access.QUERY.value),
        }
    shares = shares or Shares()
    tenant = shares.tenants[0] if shares.tenants else None
    return {
        "scope": "tenant" if tenant else ("users" if shares.users else "only_me"),
        "chosen": {str(u.user_id): (u.access or Access.QUERY).value for u in shares.users},
        "tenant_access": ((tenant.access if tenant else None) or Access.QUERY).value,
    }


def section(
    request: HtmxRequest,
    run: Run,
    *,
    action: str,
    page_url: str,
    result: ShareResult | None = None,
    banner: str = "",
    message: str = "",
    post: QueryDict | None = None,
) -> dict[str, Any]:
    """The context of ``onboarding/_sharing.html``: HDP's shares now (by name), the tenant's people
    (filtered by ``?q=``), the form's choices, the "reads as" sentence. Reads HDP as the owner."""
    person = common.user(request)
    q = request.GET.get("q", "").strip()[:100]
    ctx: dict[str, Any] = {
        "sharing_action": action,
        "sharing_page": page_url,
        "reads_as": reads_as(run),
        "may_tenant": may_share_with_tenant(person, run),
        "access_choices": [(a.value, a.label) for a in Access],
        "q": q,
        "share_banner": banner,
        "share_message": message,
        "share_rows": None,
        "share_read_error": "",
    }
    datasource_id = run.remote_id("datasource")
    if datasource_id is None:
        ctx["share_read_error"] = _("This setup holds no data source in HDP, so there is nothing to share.")
        return ctx
    shares = result.after if result is not None else None
    people: list[Person] = []
    try:
        with HdpClient.for_user(person) as client:
            if shares is None:
                shares = sharing.read_shares(client, datasource_id)
            people = sharing.tenant_people(client, run.tenant_id, exclude=person.hdp_user_id)
    except HdpError as exc:
        ctx["share_read_error"] = _("The portal could not read the current shares from HDP. %(why)s") % {
            "why": exc.explanation
        }
    names = {p.user_id: p.name for p in people}
    state = _form_state(shares, post)
    if shares is not None:
        ctx["share_rows"] = _rows(shares, names, run)
        ctx["share_drift"] = _drift_rows(run, shares, names)
    chosen_ids = {int(u) for u in state["chosen"] if u.isdigit()}
    matching = {p.user_id for p in sharing.find_people(people, q)}
    shown = [p for p in people if p.user_id in matching or p.user_id in chosen_ids]
    ctx.update(
        {
            "people": [
                {"id": p.user_id, "name": p.name, "access": state["chosen"].get(str(p.user_id), "")}
                for p in shown
            ],
            "people_total": len(people),
            "people_hidden": len(people) - len(shown),
            "offer_search": len(people) >= SEARCH_FROM or bool(q),
            "scope": state["scope"],
            "tenant_access": state["tenant_access"],
            "share_ready": shares is not None and not ctx["share_read_error"],
        }
    )
    return ctx


# --- changes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a share POST did: the result (``None`` when refused before any HDP call) and the sentence."""

    result: ShareResult | None
    banner: str = ""  # a refusal or failure, in plain words
    message: str = ""  # success


def _refused(person: User, run: Run, why: str, reason: str) -> Outcome:
    AuditEntry.record(
        person.username,
        "datasource.share",
        run=run,
        change="save",
        datasource_id=run.remote_id("datasource"),
        outcome="refused",
        reason=reason,
    )
    return Outcome(None, banner=why)


def _finish(person: User, run: Run, change: str, result: ShareResult, **detail: Any) -> Outcome:
    sharing.audit(person.username, run, change, result, **detail)
    sharing.remember(run, result)
    if result.ok:
        return Outcome(result, message=result.message())
    return Outcome(result, banner=result.message())


def save(request: HtmxRequest, run: Run) -> Outcome:
    """The Share button: check the request, then make HDP's shares what was chosen (as the owner)."""
    person, post = common.user(request), request.POST
    datasource_id = run.remote_id("datasource")
    if datasource_id is None:
        return Outcome(
            None, banner=_("This setup holds no data source in HDP, so there is nothing to share.")
        )
    scope = post.get("scope", "")
    users = [(u, post.get(f"access_{u}")) for u in post.getlist("user")] if scope != "only_me" else []
    try:
        with HdpClient.for_user(person) as client:
            tenant_users = {p.user_id for p in sharing.tenant_people(client, run.tenant_id)}
            try:
                desired = sharing.desired_from_request(
                    scope=scope,
                    users=users,
                    access=post.get("tenant_access"),
                    owner_id=person.hdp_user_id if person.hdp_user_id is not None else -1,
                    tenant_id=run.tenant_id,
                    tenant_user_ids=tenant_users,
                    may_share_with_tenant=may_share_with_tenant(person, run),
                )
            except SharingInputError as exc:
                return _refused(person, run, exc.message, scope)
            result = sharing.apply_shares(client, datasource_id, desired, tenant_user_ids=tenant_users)
    except HdpError as exc:
        # Listing the tenant's people failed: nothing was changed.
        return Outcome(
            None,
            banner=_(
                "The portal could not read the tenant's people from HDP, so nothing was changed. %(why)s"
            )
            % {"why": exc.explanation},
        )
    return _finish(person, run, "save", result, scope=scope)


def change_one(request: HtmxRequest, run: Run) -> Outcome:
    """Remove one share, or change its permissions (the rows of the current shares)."""
    person, post = common.user(request), request.POST
    datasource_id = run.remote_id("datasource")
    kind = post.get("kind", "")
    member = post.get("member", "")
    if datasource_id is None or kind not in ("user", "tenant") or not member.isdigit():
        return Outcome(None, banner=_("Choose a share listed on this page."))
    member_id = int(member)
    kind_: Literal["user", "tenant"] = "user" if kind == "user" else "tenant"
    with HdpClient.for_user(person) as client:
        if post.get("change") == "remove":
            result = sharing.remove_share(client, datasource_id, kind_, member_id)
            return _finish(person, run, "remove", result, kind=kind_, member=member_id)
        try:
            access = Access(post.get("access", ""))
        except ValueError:
            why = _("Choose what they may do: “%(query)s” or “%(view)s”.") % {
                "query": Access.QUERY.label,
                "view": Access.QUERY_AND_VIEW.label,
            }
            return _refused(person, run, why, "unknown_permission")
        if kind_ == "tenant" and not may_share_with_tenant(person, run):
            why = _("Only an administrator of the tenant can change a share with the whole tenant.")
            return _refused(person, run, why, "tenant_not_admin")
        result = sharing.change_share(client, datasource_id, kind_, member_id, access)
        return _finish(person, run, "change", result, kind=kind_, member=member_id)


# --- the wizard's last step ----------------------------------------------------------------------------------


def _completed(request: HtmxRequest, run_id: UUID) -> Run | HttpResponse:
    run = common.get_run(request, run_id)
    if run.status == Run.Status.COMPLETED:
        return run
    if request.method == "GET":
        return redirect("onboarding:resume", run.pk)
    return HttpResponseSeeOther(reverse("onboarding:resume", kwargs={"run_id": run.pk}))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def step_share(request: HtmxRequest, run_id: UUID) -> HttpResponse:
    """Who can use it: optional, after the check passed; "Only me" (no shares) is the default answer."""
    found = _completed(request, run_id)
    if isinstance(found, HttpResponse):
        return found
    run = found
    url = reverse("onboarding:step-share", kwargs={"run_id": run.pk})
    outcome = Outcome(None)
    if request.method == "POST":
        outcome = change_one(request, run) if request.POST.get("change") else save(request, run)
    context = section(
        request,
        run,
        action=url,
        page_url=url,
        result=outcome.result,
        banner=outcome.banner,
        message=outcome.message,
        post=request.POST if outcome.banner and outcome.result is None else None,
    )
    context["datasource"] = run.remote("datasource")
    progress = wizard.Progress.of(run)
    return common.render_step(request, run, "share", "onboarding/step_share.html", context, progress=progress)
