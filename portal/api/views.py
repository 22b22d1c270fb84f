"""The signed-in "API tokens" page: make a token (shown once), see and revoke one's tokens."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.models import User
from portal.api import problems, tokens
from portal.api.forms import TokenForm
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.support.access import is_support_staff


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware: only signed-in people get here
    return user


@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    support = is_support_staff(person)
    form = TokenForm(request.POST or None, support=support)
    shown = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                row, shown = tokens.create(
                    person,
                    name=form.cleaned_data["name"],
                    scopes=list(form.cleaned_data["scopes"]),
                    days=int(form.cleaned_data["days"]),
                    is_support=support,
                )
            except tokens.TokenRefused as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                AuditEntry.record(
                    person.username, "api_token.create", token=row.pk, scopes=" ".join(row.scopes)
                )
                form = TokenForm(support=support)
        else:
            status = 400
    rows = list(ApiToken.objects.filter(user=person))
    return render(request, "api/tokens.html", {"form": form, "rows": rows, "new_token": shown}, status=status)


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    person = _person(request)
    row = get_object_or_404(ApiToken, pk=token_id, user=person)
    tokens.revoke(row)
    AuditEntry.record(person.username, "api_token.revoke", token=row.pk)
    messages.success(request, _("The token %(name)s is revoked.") % {"name": row.name})
    return redirect("api-tokens")


def api_not_found(request: HttpRequest) -> HttpResponse:
    return problems.response(404, "not_found", _("There is no such API address. See /api/v1/docs."))
