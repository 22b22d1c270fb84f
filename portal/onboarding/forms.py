"""One form per wizard step. ``clean_*`` returns domain values; HDP refusals go back into the form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.accounts.forms import AccessibleForm
from portal.oauth import presets, uris

# HDP: OAuth application and profile names allow letters, digits and "_" only (docs/hdp-api.md §2, §3).
HDP_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# HDP: a data source name starts with a letter; letters, digits, "_" and "-" (docs/hdp-api.md §4).
DS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
NAME_MAX = 128
OAUTH_PROFILE_OPTION = "OAuthProfileId"

# Inline validation: which form field each validate endpoint key checks.
ValidateUrl = Callable[[str], str]


def suggest_name(*parts: str, suffix: str) -> str:
    """``Acme`` + ``Google Analytics`` + ``app`` -> ``Acme_GoogleAnalytics_app`` (HDP charset)."""
    words = [re.sub(r"[^A-Za-z0-9]", "", p) for p in parts]
    name = "_".join(w for w in [*words, suffix] if w)
    if not name[:1].isalpha():
        name = "S_" + name
    return name[:NAME_MAX]


def check_hdp_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a name."), code="required")
    if len(value) > NAME_MAX:
        raise ValidationError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, code="max_length")
    if not HDP_NAME.match(value):
        bad = sorted({ch for ch in value if not re.match(r"[A-Za-z0-9_]", ch)})
        shown = " ".join(str(_("space")) if ch == " " else ch for ch in bad)
        raise ValidationError(
            _("HDP allows only letters, digits and _ (underscore) here; remove: %(bad)s") % {"bad": shown},
            code="charset",
        )
    return value


def check_ds_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a name."), code="required")
    if len(value) > NAME_MAX:
        raise ValidationError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, code="max_length")
    if not value[0].isascii() or not value[0].isalpha():
        raise ValidationError(_("The name must start with a letter (A-Z or a-z)."), code="first_char")
    if not DS_NAME.match(value):
        raise ValidationError(
            _("Use only letters, digits, _ (underscore) and - (hyphen); no spaces or other signs."),
            code="charset",
        )
    return value


def _live(field: forms.Field, validate_url: ValidateUrl | None, key: str, html_name: str) -> None:
    """As-you-type checks: POST just this field (hx-params) to the local validate endpoint."""
    if validate_url is None:
        return
    field.widget.attrs.update(
        {
            "hx-post": validate_url(key),
            "hx-trigger": "input changed delay:400ms",
            "hx-params": html_name,
            "hx-target": f"#id_{html_name}-error-slot",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
    )


class StoreForm(AccessibleForm):
    """Step a: tenant (only when the person administers several) and data store + provider preset."""

    # Names this setup before it exists: a second submit of the same page (double click, reload
    # with JavaScript off) finds the run the first one created instead of starting another.
    setup_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    tenant = forms.TypedChoiceField(label=_l("Tenant"), coerce=int)
    store_preset = forms.ChoiceField(
        label=_l("Data store and provider"),
        help_text=_l("The HDP data store to connect, and the provider that signs you in to it."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        tenants: list[dict[str, Any]],
        choices: list[tuple[str, list[tuple[str, str]]]],
    ) -> None:
        super().__init__(data, initial={"setup_id": uuid.uuid4()})
        if len(tenants) > 1:
            self.fields["tenant"].choices = [  # type: ignore[attr-defined]
                (int(str(t["id"])), str(t["name"])) for t in tenants
            ]
        else:
            del self.fields["tenant"]
        self.fields["store_preset"].choices = [("", _("Choose…")), *choices]  # type: ignore[attr-defined]


class AppReuseForm(AccessibleForm):
    app_id = forms.TypedChoiceField(label=_l("Existing application"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, data: Any = None, *, apps: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["app_id"].choices = apps  # type: ignore[attr-defined]


class AppCreateForm(AccessibleForm):
    """Step b (new application). The secret is write-only: never rendered back (SECURITY.md item 18)."""

    name = forms.CharField(
        label=_l("Application name in HDP"),
        max_length=NAME_MAX,
        help_text=_l("Letters, digits and _ only. It is also part of the redirect address below."),
    )
    client_id = forms.CharField(
        label=_l("Client ID"), max_length=500, help_text=_l("From the app you registered at the provider.")
    )
    client_secret = forms.CharField(
        label=_l("Client secret"),
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_l("Stored encrypted until HDP holds it, never shown again. Retype it if the page asks."),
    )
    authorize_uri = forms.CharField(label=_l("Authorization address (authorize URI)"), max_length=2000)
    token_uri = forms.CharField(label=_l("Token address (token URI)"), max_length=2000)
    scope = forms.CharField(
        label=_l("Scopes"), max_length=2000, required=False, help_text=_l("Separated by spaces.")
    )
    extra_params = forms.CharField(
        label=_l("Extra sign-in parameters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_l("One name=value per line, e.g. prompt=consent."),
    )
    token_auth = forms.ChoiceField(
        label=_l("How the portal and HDP send the client secret to the token address"),
        choices=presets.TOKEN_AUTH_CHOICES,
        initial="basic",
        required=False,  # not sent = HTTP Basic, the default
        widget=forms.RadioSelect,
        help_text=_l(
            "Pick what the provider's app registration says (often called the token endpoint "
            "authentication method); most providers accept HTTP Basic."
        ),
    )
    description = forms.CharField(label=_l("Description"), max_length=500, required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        preset: presets.Preset,
        initial: dict[str, Any] | None = None,
        validate_url: ValidateUrl | None = None,
    ) -> None:
        self.preset = preset
        super().__init__(data, initial=initial)
        for name in preset.placeholders:
            label = presets.PLACEHOLDER_LABELS.get(name, name)
            self.fields[f"ph_{name}"] = forms.CharField(
                label=label,
                max_length=100,
                help_text=_("Fills the {%(name)s} part of the addresses below.") % {"name": name},
                error_messages={"required": _("Enter this: the addresses below need it.")},
            )
        if not preset.is_custom:
            del self.fields["extra_params"]
            del self.fields["token_auth"]  # the preset states the provider's method
            if preset.client_id:  # sandbox: the portal's fixed registration
                self.fields["client_id"].initial = preset.client_id
        # The placeholder fields are added after AccessibleForm linked the others.
        for name, field in self.fields.items():
            if name.startswith("ph_"):
                auto_id = self[name].auto_id
                field.widget.attrs["aria-describedby"] = f"{auto_id}-help {auto_id}-error"
        _live(self.fields["name"], validate_url, "app_name", "name")
        _live(self.fields["authorize_uri"], validate_url, "authorize_uri", "authorize_uri")
        _live(self.fields["token_uri"], validate_url, "token_uri", "token_uri")

    def clean_name(self) -> str:
        return check_hdp_name(self.cleaned_data["name"])

    def clean_token_auth(self) -> str:
        return str(self.cleaned_data.get("token_auth") or "basic")

    def clean_extra_params(self) -> dict[str, str]:
        text = self.cleaned_data.get("extra_params") or ""
        return uris.validate_extra_params(text) if text.strip() else {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        preset = self.preset
        if preset.placeholders:
            values = {n: (data.get(f"ph_{n}") or "").strip() for n in preset.placeholders}
            if all(values.values()):
                try:
                    filled = preset.fill(**values)
                except ValidationError as exc:
                    self.add_error(f"ph_{preset.placeholders[0]}", exc)
                    return data
                for field, template, value in (
                    ("authorize_uri", preset.authorize_uri, filled.authorize_uri),
                    ("token_uri", preset.token_uri, filled.token_uri),
                    ("scope", preset.scope, filled.scope),
                ):
                    if not data.get(field) or data.get(field) == template or "{" in str(data.get(field)):
                        data[field] = value
        for field, kind in (("authorize_uri", "authorize"), ("token_uri", "token")):
            uri = data.get(field)
            if not uri:
                continue
            try:  # the same check as the inline one (views._FIELDS)
                data[field] = uris.check_provider_uri(uri, preset=preset, kind=kind)  # type: ignore[arg-type]
            except ValidationError as exc:
                self.add_error(field, exc)
        # Custom providers: the two hosts must belong together before the app (and its secret)
        # reaches HDP, which will post the secret to that token URI (SECURITY.md item 5d).
        both_valid = (
            data.get("authorize_uri")
            and data.get("token_uri")
            and not ({"authorize_uri", "token_uri"} & set(self.errors))
        )
        if preset.allowed_hosts is None and both_valid:
            try:
                uris.validate_provider_pair(data["authorize_uri"], data["token_uri"], allowed_hosts=None)
            except ValidationError as exc:
                self.add_error("token_uri", exc)
        return data


class AppEditForm(AppCreateForm):
    """Step b, changing the application this run registered (SECURITY.md item 18).

    The same checks as :class:`AppCreateForm`; the name is fixed (the redirect address registered
    at the provider contains it), and the secret is optional unless an address changes: a new
    authorize or token URI without the secret would send the secret HDP holds to another host.
    """

    #: The sentence is the engine's too (``steps.update_app`` refuses the same change).
    SECRET_FOR_NEW_ADDRESS = _l(
        "The authorization or token address changed: enter the client secret again to confirm."
    )

    name = forms.CharField(
        label=_l("Application name in HDP"),
        max_length=NAME_MAX,
        disabled=True,  # shown, never taken from the POST
        help_text=_l("The name cannot change: the redirect address at the provider contains it."),
    )
    client_secret = forms.CharField(
        label=_l("Client secret"),
        required=False,
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_l(
            "Leave empty to keep the secret HDP already holds. "
            "Required if you change the sign-in or token address."
        ),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        preset: presets.Preset,
        initial: dict[str, Any],
        validate_url: ValidateUrl | None = None,
    ) -> None:
        super().__init__(data, preset=preset, initial=initial, validate_url=validate_url)
        for name in [n for n in self.fields if n.startswith("ph_")]:
            del self.fields[name]  # the addresses are already filled in
        for attr in ("hx-post", "hx-trigger", "hx-params", "hx-target", "hx-swap", "hx-sync"):
            self.fields["name"].widget.attrs.pop(attr, None)  # no inline check of a fixed value

    def uris_changed(self) -> bool:
        data = self.cleaned_data
        return any(
            (data.get(field) or "") != (self.initial.get(field) or "")
            for field in ("authorize_uri", "token_uri")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        addresses_ok = not ({"authorize_uri", "token_uri"} & set(self.errors))
        if addresses_ok and not data.get("client_secret") and self.uris_changed():
            self.add_error("client_secret", str(self.SECRET_FOR_NEW_ADDRESS))
        return data


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
            if str(d.get("id")) != OAUTH_PROFILE_OPTION and str(d.get("id")) not in fixed
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
