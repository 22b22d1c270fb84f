"""The automation API at ``/api/v1/`` (django-ninja; OpenAPI 3.1 at ``/api/v1/openapi.json``).

django-ninja, not Django REST framework: the portal already models HDP's answers with pydantic, and
ninja turns pydantic models and type hints straight into validation and an OpenAPI 3.1 document
(DRF needs drf-spectacular and serializers written beside the models). It ships Swagger UI's files,
served here from the portal's own static files (no CDN).

Every error is RFC 9457 ``application/problem+json`` (:mod:`portal.api.problems`); every operation
needs a personal token (:mod:`portal.api.auth`) with the operation's scope.
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from pydantic import Field

from portal.accounts.models import User
from portal.api import idempotency, problems, schemas, setups, support, webhooks
from portal.api.auth import TokenAuth, require_scope
from portal.api.models import ApiToken
from portal.api.problems import Problem
from portal.audit.models import AuditEntry
from portal.connections import checks, health
from portal.connections import handoff as connections_handoff
from portal.connections.models import ConnectionCheck
from portal.oauth import handoff
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run
from portal.onboarding.views import common
from portal.ratelimit import limiter as ratelimit
from portal.support.access import is_support_staff

logger = logging.getLogger(__name__)

DESCRIPTION = """The HDP Onboarding Portal's automation API: list setups and their connection status,
queue checks, send a setup's account owner a link to sign in (handoff links), and (support staff)
see every tenant's worst status and findings.

Authenticate with a personal API token (`Authorization: Bearer hdpp_...`), made on the portal's
"API tokens" page or with `manage.py api_token create`. Scopes: `setups:read`, `setups:check`,
`support:read` (support staff only) and `handoff:write` (make and revoke handoff links).
Errors are RFC 9457 problem details (`application/problem+json`).
Writes honour an `Idempotency-Key` header (24 hours). The portal's webhooks follow the Standard
Webhooks specification; their events are listed under `webhooks`. See docs/api.md."""


class PortalApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(webhooks.component_schemas())
        schema["webhooks"] = webhooks.openapi_webhooks()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[problems.MEDIA_TYPE] = content.pop("application/json")
        return schema


api = PortalApi(
    title="HDP Onboarding Portal API",
    version="1.0.0",
    description=DESCRIPTION,
    auth=TokenAuth(),
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)

#: Problem answers every operation can give (401, 403, 429) plus the operation's own.
COMMON_ERRORS = {401, 403, 422, 429}


def _errors(*extra: int) -> dict[int, Any]:
    return dict.fromkeys(sorted(COMMON_ERRORS | set(extra)), problems.ProblemDetails)


_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN},
    "description": "The same key and request within 24 hours returns the first answer.",
}


# --- errors: all problem+json -------------------------------------------------------------------
@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problems.of(exc)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        errors.append({"field": ".".join(loc), "message": str(error.get("msg", ""))})
    fields = ", ".join(sorted({e["field"] for e in errors})) or _("the request")
    return problems.response(
        422,
        "invalid_request",
        _("Some values are not valid: %(fields)s. Correct them and send the request again.")
        % {"fields": fields},
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problems.response(
        401,
        "invalid_token",
        _("The API token is missing, malformed, expired or revoked."),
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problems.response(404, "not_found", _("There is no such setup, or it is not yours."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return problems.response(status, "http_error", str(exc) or phrase)


@api.exception_handler(Exception)
def _fault(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API fault on %s %s", request.method, request.path)
    return problems.response(
        500,
        "server_error",
        _("Something went wrong on the portal's side. Try again; if it keeps happening, tell support."),
    )


# --- who am I -------------------------------------------------------------------------------------
@api.get("/me", response={200: schemas.Me, **_errors()}, tags=["token"], summary="The token and its person")
def me(request: HttpRequest) -> dict[str, Any]:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    person = _person(request)
    return {
        "username": person.username,
        "tenants": [{"id": int(str(t["id"])), "name": str(t["name"])} for t in person.onboarding_tenants()],
        "scopes": list(token.scopes),
        "token_name": token.name,
        "token_expires_at": token.expires_at,
        "support_staff": is_support_staff(person),
    }


def _known_params(request: HttpRequest, model: type[schemas.Strict]) -> None:
    """A query parameter the operation does not know is refused (422), like an unknown body field."""
    unknown = sorted(set(request.GET) - set(model.model_fields))
    if unknown:
        raise Problem(
            422,
            "invalid_request",
            _("Some values are not valid: %(fields)s. Correct them and send the request again.")
            % {"fields": ", ".join(f"query.{name}" for name in unknown)},
            errors=[{"field": f"query.{name}", "message": _("unknown parameter")} for name in unknown],
        )


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- setups -----------------------------------------------------------------------------------------
class SetupFilters(schemas.Strict):
    status: schemas.StateName | None = Field(None, description="Only setups with this status.")
    tenant: int | None = Field(None, ge=0, le=2**31 - 1, description="Only this HDP tenant id.")
    store: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="Data store name or id."
    )
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_-]+$")
    limit: int = Field(50, ge=1, le=100, description="Page size, at most 100.")


setups_router = Router(tags=["setups"])


@setups_router.get(
    "", response={200: schemas.SetupPage, **_errors()}, summary="The person's setups, newest first"
)
def list_setups(request: HttpRequest, filters: Query[SetupFilters]) -> HttpResponse:
    require_scope(request, "setups:read")
    _known_params(request, SetupFilters)
    person = _person(request)
    rows, statuses, ids, forecasts, next_cursor = setups.page(
        person,
        state=filters.status,
        tenant=filters.tenant,
        store=filters.store,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    link, words = setups.page_link(), dict[Any, tuple[str, str | None]]()
    items = [
        setups.setup_out(
            r,
            statuses[r.pk],
            person.username,
            ids.get(r.pk, {}),
            link=link,
            words=words,
            forecast=forecasts[r.pk],
        )
        for r in rows
    ]
    body = {
        "items": items,
        "next_cursor": next_cursor,
    }
    # Built from the same dicts the schema describes (schemathesis checks every answer against it);
    # returned as is, not re-validated by pydantic: a page of 100 is the API's hot path.
    return HttpResponse(json.dumps(body, cls=DjangoJSONEncoder), content_type="application/json")


def _setup(request: HttpRequest, setup_id: UUID) -> Run:
    """The pages' own gate (owner and tenant, else 404 and a security event); completed setups only."""
    run = common.get_run(request, setup_id)  # type: ignore[arg-type]
    if run.status != Run.Status.COMPLETED:
        raise Http404
    return run


@setups_router.get(
    "/{uuid:setup_id}", response={200: schemas.Setup, **_errors(404)}, summary="One setup and its status"
)
def get_setup(request: HttpRequest, setup_id: UUID) -> dict[str, Any]:
    require_scope(request, "setups:read")
    run = _setup(request, setup_id)
    status = checks.status_for(run)
    ids = setups.hdp_ids([run.pk]).get(run.pk, {})
    return setups.setup_out(run, status, _person(request).username, ids)


class HistoryFilters(schemas.Strict):
    limit: int = Field(10, ge=1, le=100, description="How many checks, newest first.")


@setups_router.get(
    "/{uuid:setup_id}/checks",
    response={200: schemas.CheckPage, **_errors(404)},
    summary="The setup's check history, newest first",
)
def list_checks(request: HttpRequest, setup_id: UUID, filters: Query[HistoryFilters]) -> dict[str, Any]:
    require_scope(request, "setups:read")
    _known_params(request, HistoryFilters)
    run = _setup(request, setup_id)
    return {"items": [setups.check_out(c) for c in checks.history(run, limit=filters.limit)]}


@setups_router.get(
    "/{uuid:setup_id}/checks/{int:check_id}",
    response={200: schemas.Check, **_errors(404)},
    summary="One check (poll a queued check here)",
)
def get_check(request: HttpRequest, setup_id: UUID, check_id: int) -> dict[str, Any]:
    require_scope(request, "setups:read")
    run = _setup(request, setup_id)
    check = ConnectionCheck.objects.filter(run=run, pk=check_id).first()
    if check is None:
        raise Problem(404, "not_found", _("There is no such check of this setup."))
    return setups.check_out(check)


@setups_router.post(
    "/{uuid:setup_id}/checks",
    response={202: schemas.CheckQueued, **_errors(404, 409)},
    summary="Queue a check of the setup (like Check now)",
    description=(
        "Queues one real check, under the same rate limit as the setup page's Check now. Answers 202 "
        "with the check's id and a Location to poll. Send an Idempotency-Key header to make a retry safe."
    ),
    openapi_extra={"parameters": [_IDEMPOTENCY_HEADER]},
)
def queue_check(request: HttpRequest, setup_id: UUID) -> HttpResponse:
    require_scope(request, "setups:check")
    person = _person(request)
    return idempotency.run_once(request, person.pk, lambda: _queue(request, person, setup_id))


def _queue(request: HttpRequest, person: User, setup_id: UUID) -> HttpResponse:
    run = _setup(request, setup_id)
    if not ratelimit.hit("ds_test", person.username, settings.RATELIMIT_TEST_PER_MINUTE):
        AuditEntry.record(person.username, "connection.check", run=run, outcome="rate_limited", via="api")
        raise Problem(
            429,
            "rate_limited",
            _("You have run many checks in the last minute. Wait a minute, then try again."),
            headers={"Retry-After": str(60 - int(time.time()) % 60)},
        )
    try:
        check = health.queue_check(run, trigger=ConnectionCheck.Trigger.MANUAL, requested_by=person.username)
    except checks.CheckBusy:
        AuditEntry.record(person.username, "connection.check", run=run, outcome="busy", via="api")
        raise Problem(
            409,
            "check_running",
            _("A check of this setup is already running. Its result shows here when it ends."),
        ) from None
    AuditEntry.record(person.username, "connection.check", run=run, outcome="queued", via="api")
    location = request.build_absolute_uri(setups.check_path(check))
    body = {"id": check.pk, "setup_id": str(run.pk), "progress": "queued", "location": location}
    return HttpResponse(
        json.dumps(body), status=202, content_type="application/json", headers={"Location": location}
    )


#: Why a replayed creation answer has no link (docs/api.md "Idempotency").
REPLAY_NOTE = (
    "This is a replay of the first answer to this Idempotency-Key. The link is only in the first "
    "answer (the portal keeps only its hash). If it was lost, revoke this link and make a new one."
)


@setups_router.post(
    "/{uuid:setup_id}/handoff-links",
    response={201: schemas.HandoffLinkCreated, **_errors(400, 404, 409)},
    summary="Send the setup's account owner a link to sign in (like Ask the account owner)",
    description=(
        "Makes a handoff link for a reconnect or a repair, under the same rules as the setup page's "
        "Ask the account owner (one open link per setup and purpose: a newer one revokes the older; the "
        "setup's provider account must be recorded). The link is in this answer only; with `email` the "
        "portal also e-mails it. A replay of the same Idempotency-Key answers the same without the link."
    ),
    openapi_extra={"parameters": [_IDEMPOTENCY_HEADER]},
)
def create_handoff_link(
    request: HttpRequest, setup_id: UUID, payload: schemas.HandoffLinkCreate
) -> HttpResponse:
    require_scope(request, "handoff:write")
    person = _person(request)
    return idempotency.run_once(
        request, person.pk, lambda: _ask_owner(request, person, setup_id, payload), redact=_without_link
    )


def _ask_owner(
    request: HttpRequest, person: User, setup_id: UUID, payload: schemas.HandoffLinkCreate
) -> HttpResponse:
    run = _setup(request, setup_id)
    try:
        with common.client(request) as client:  # type: ignore[arg-type]
            made = connections_handoff.ask_owner(
                run,
                payload.purpose,
                person,
                client,
                hours=payload.hours,
                email=payload.email or "",
                note=" ".join(payload.note.split()),
                language=get_language() or "",
            )
    except handoff.LinkRefused as exc:
        raise Problem(409, "handoff_refused", str(exc)) from None
    link = made.link
    body = {
        "id": str(link.pk),
        "setup_id": str(run.pk),
        "purpose": link.purpose,
        "state": link.state,
        "expires_at": link.expires_at.isoformat(),
        "email": link.email or None,
        "mail_problem": made.mail_problem or None,
        "link": handoff.url_for(made.token),
        "replay_note": None,
    }
    return HttpResponse(json.dumps(body), status=201, content_type="application/json")


def _without_link(body: str) -> str:
    kept = json.loads(body)
    kept["link"] = None
    kept["replay_note"] = REPLAY_NOTE
    return json.dumps(kept)


api.add_router("/setups", setups_router)


# --- handoff links ----------------------------------------------------------------------------------
handoff_router = Router(tags=["handoff links"])


@handoff_router.delete(
    "/{uuid:link_id}",
    response={204: None, **_errors(404, 409)},
    summary="Revoke a handoff link (it no longer works)",
    description=(
        "Revokes a waiting link, as the setup page's Revoke does; a link already revoked answers 204 "
        "again. A link that was used, refused or expired cannot be revoked (409, with its state in words)."
    ),
)
def revoke_handoff_link(request: HttpRequest, link_id: UUID) -> HttpResponse:
    require_scope(request, "handoff:write")
    person = _person(request)
    link = HandoffLink.objects.filter(pk=link_id).select_related("run").first()
    if link is None:
        raise Problem(404, "not_found", _("There is no such link, or it is not yours."))
    try:
        common.get_run(request, link.run_id)  # type: ignore[arg-type]  # the pages' gate: owner and tenant
    except Http404:
        raise Problem(404, "not_found", _("There is no such link, or it is not yours.")) from None
    handoff.expire(link)
    if link.state == HandoffLink.State.WAITING:
        handoff.revoke(link, by=person.username, reason="revoked by the admin")
        link.refresh_from_db()
    if link.state != HandoffLink.State.REVOKED:
        raise Problem(409, "handoff_ended", handoff.state_line(link))
    return HttpResponse(status=204)


api.add_router("/handoff-links", handoff_router)


# --- support staff ----------------------------------------------------------------------------------
support_router = Router(tags=["support"])


@support_router.get(
    "",
    response={200: schemas.TenantPage, **_errors()},
    summary="Every tenant with setups, with the support console's worst status (support staff)",
)
def list_tenants(request: HttpRequest) -> dict[str, Any]:
    require_scope(request, "support:read")
    actor = support.staff(request)
    _known_params(request, schemas.Strict)
    items, problem = support.tenants()
    AuditEntry.record(actor, "support.view_tenants", via="api", hdp_ok=not problem)
    return {"items": items, "problem": problem or None}


@support_router.get(
    "/{int:tenant_id}/findings",
    response={200: schemas.Findings, **_errors(404)},
    summary="The support console's findings for one tenant (support staff)",
)
def tenant_findings(request: HttpRequest, tenant_id: int) -> dict[str, Any]:
    require_scope(request, "support:read")
    actor = support.staff(request)
    _known_params(request, schemas.Strict)
    if tenant_id > 2**31 - 1:
        raise Problem(404, "not_found", _("There is no such tenant."))
    return support.findings(tenant_id, actor)


api.add_router("/tenants", support_router)
