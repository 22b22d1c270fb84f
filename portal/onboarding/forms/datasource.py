"""Steps d and e: the OAuth profile's name, and the data source with its store's options."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.accounts.forms import AccessibleForm
from portal.onboarding.forms.names import (
    NAME_MAX,
    OAUTH_PROFILE_OPTION,
    ValidateUrl,
    _live,
    check_ds_name,
    check_hdp_name,
)


class ProfileForm(AccessibleForm):
    name = forms.CharField(
        label=_l("Profile name in HDP"), max_length=NAME_MAX, help_text=_l("Letters, digits and _ only.")
    )
    description = forms.CharField(label=_l("Description"), max_length=500, required=False)

    def __init__(
        self, data: Any = None, *, initial: dict[str, Any], validate_url: ValidateUrl | None = None
    ) -> None:
        super().__init__(data, initial=initial)
        _live(self.fields["name"], validate_url, "profile_name", "name")

    def clean_name(self) -> str:
        return check_hdp_name(self.cleaned_data["name"])


def _option_field(definition: dict[str, Any]) -> forms.Field | None:
    kind = str(definition.get("type") or "string").lower()
    label = str(definition.get("display_name") or definition.get("id"))
    help_text = str(definition.get("documentation") or "")
    required = bool(definition.get("required"))
    default = definition.get("default")
    choices = definition.get("choices") or []
    if choices:
        options = [(str(c["id"]), str(c["name"])) for c in choices]
        if not required:
            options = [("", _("(HDP default)")), *options]
        return forms.ChoiceField(
            label=label, help_text=help_text, required=required, choices=options, initial=default or ""
        )
    if kind == "boolean":
        return forms.BooleanField(
            label=label, help_text=help_text, required=False, initial=str(default).lower() == "true"
        )
    if kind == "integer":
        return forms.IntegerField(label=label, help_text=help_text, required=required, initial=default)
    if kind == "password":
        return forms.CharField(
            label=label,
            help_text=help_text,
            required=required,
            strip=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        )
    return forms.CharField(
        label=label, help_text=help_text, required=required, initial=default, max_length=4000
    )


# The back end's own user name and password: an OAuth data source signs in with its OAuth profile,
# so the wizard does not ask for them (HDP would not use them).
SIGN_IN_OPTIONS = frozenset({"User", "Password"})


class DataSourceForm(AccessibleForm):
    """Step e: the data source, with the store's own options (from the definitions saved at step a).

    ``OAuthProfileId`` is never shown: the portal fills it with the profile it created. Options the
    preset fixes (``fixed``, e.g. ``AuthenticationMethod=oauth2.0``) are applied, not asked.
    """

    name = forms.CharField(
        label=_l("Data source name"),
        max_length=NAME_MAX,
        help_text=_l(
            "Starts with a letter; letters, digits, _ and - only. Applications connect with this name."
        ),
    )
    description = forms.CharField(label=_l("Description"), max_length=500, required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        definitions: list[dict[str, Any]],
        fixed: dict[str, str],
        initial: dict[str, Any],
        validate_url: ValidateUrl | None = None,
    ) -> None:
        self.definitions = [
            d
            for d in definitions
            if str(d.get("id")) != OAUTH_PROFILE_OPTION
            and str(d.get("id")) not in fixed
            and str(d.get("id")) not in SIGN_IN_OPTIONS
        ]
        self.fixed = fixed
        super().__init__(data, initial=initial)
        for definition in self.definitions:
            field = _option_field(definition)
            if field is not None:
                self.fields[f"opt_{definition['id']}"] = field
        for name, field in self.fields.items():
            if name.startswith("opt_"):
                ids = [f"{self[name].auto_id}-help"] if field.help_text else []
                field.widget.attrs["aria-describedby"] = " ".join([*ids, f"{self[name].auto_id}-error"])
        _live(self.fields["name"], validate_url, "ds_name", "name")

    def clean_name(self) -> str:
        return check_ds_name(self.cleaned_data["name"])

    def option_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.fields if n.startswith("opt_")]

    def secret_options(self) -> dict[str, str]:
        """The entered values of password-type options (never stored by the portal)."""
        options = self.options()
        return {
            str(d["id"]): options[str(d["id"])]
            for d in self.definitions
            if str(d.get("type") or "").lower() == "password" and str(d["id"]) in options
        }

    def options(self) -> dict[str, str]:
        """Option values as HDP wants them: strings; empty optional values left out."""
        values: dict[str, str] = {}
        for definition in self.definitions:
            key = str(definition["id"])
            value = self.cleaned_data.get(f"opt_{key}")
            if isinstance(value, bool):
                values[key] = "true" if value else "false"
            elif value not in (None, ""):
                values[key] = str(value)
        values.update(self.fixed)
        return values
