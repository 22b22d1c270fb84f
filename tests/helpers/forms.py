"""Instances of every form the portal renders, unbound and bound with errors (tests/lib)."""

from __future__ import annotations

from django import forms

from portal.accounts.forms import LoginForm
from portal.oauth import presets
from portal.onboarding.forms import AppCreateForm, AppEditForm, DataSourceForm, ProfileForm
from portal.support.forms import ReasonForm


def portal_forms() -> list[forms.Form]:
    url = lambda field: f"/setup/x/validate/{field}/"  # noqa: E731
    definitions = [
        {
            "id": "Account",
            "display_name": "Account",
            "type": "string",
            "required": True,
            "documentation": "Id",
        },
        {"id": "Timeout", "type": "integer", "default": 30},
        {"id": "Verbose", "type": "boolean", "default": "true"},
        {"id": "Secret", "type": "password"},
        {"id": "Region", "choices": [{"id": "eu", "name": "Europe"}], "required": False},
    ]
    bad = {"name": "x y", "client_id": "", "client_secret": "s", "authorize_uri": "nope", "scope": 'a"b'}
    made = []
    for data in (None, bad):
        for key in ("sandbox", "custom"):
            preset = presets.PRESETS.get(key) or presets.PRESETS["custom"]
            made.append(AppCreateForm(data, preset=preset, initial={"name": "Acme_app"}, validate_url=url))
            made.append(AppEditForm(data, preset=preset, initial={"name": "Acme_app", "scope": "read"}))
        made.append(ProfileForm(data, initial={"name": 'Acme "profile"'}, validate_url=url))
        made.append(
            DataSourceForm(data, definitions=definitions, fixed={}, initial={"name": "ds"}, validate_url=url)
        )
        made.append(LoginForm(data))
        made.append(ReasonForm(data))
    for form in made:
        form.is_valid()
    return made
