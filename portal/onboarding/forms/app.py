"""Step b: reuse an OAuth application or register one (and edit it later)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.accounts.forms import AccessibleForm
from portal.oauth import presets, uris
from portal.onboarding.forms import lifetime
from portal.onboarding.forms.fields import ClientSecretField, ScopeField, scope_tokens
from portal.onboarding.forms.names import (
    NAME_MAX,
    ValidateUrl,
    _live,
    check_hdp_name,
)


class AppReuseForm(AccessibleForm):
    app_id = forms.TypedChoiceField(label=_l("Existing application"), coerce=int, widget=forms.RadioSelect)

    def __init__(
        self,
        data: Any = None,
        *,
        apps: list[tuple[int, str]],
        preset: presets.Preset | None = None,
        rule: str = "",
        days: int | None = None,
    ) -> None:
        # Its own ids: the page shows the lifetime question in this form and in the create form.
        super().__init__(data, auto_id="reuse_%s")
        self.fields["app_id"].choices = apps  # type: ignore[attr-defined]
        self.preset = preset
        if preset is not None:  # the sign-in lifetime question (issue 22), as on the create form
            lifetime.add_fields(self, preset, rule, days)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.preset is not None:
            lifetime.clean(self, self.preset, data)
        return data


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
    client_secret = ClientSecretField(
        help_text=_l("Stored encrypted until HDP holds it, never shown again. Retype it if the page asks."),
    )
    authorize_uri = forms.CharField(label=_l("Authorization address (authorize URI)"), max_length=2000)
    token_uri = forms.CharField(label=_l("Token address (token URI)"), max_length=2000)
    scope = ScopeField(max_length=2000, required=False)  # RFC 6749 tokens, no & # ? (SECURITY.md item 37)
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
        # The sign-in lifetime question (issue 22): only what the portal cannot know.
        lifetime.add_fields(
            self, preset, (initial or {}).get("signin_rule", ""), (initial or {}).get("signin_rule_days")
        )
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
        lifetime.clean(self, preset, data)
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
                try:  # the filled-in scopes are checked like typed ones
                    scope_tokens(data.get("scope") or "")
                except ValidationError as exc:
                    self.add_error("scope", exc)
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
    client_secret = ClientSecretField(
        required=False,
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
