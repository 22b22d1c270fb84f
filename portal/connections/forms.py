"""The forms of a completed setup's pages: notification settings, a new client secret, new scopes,
and a repair's confirmation. The secret and the scopes use the wizard's own fields
(:mod:`portal.onboarding.forms.fields`), so an input is checked one way everywhere."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.connections.models import NotificationPreference
from portal.connections.rotate import SCOPE_MAX
from portal.oauth.presets import Preset
from portal.onboarding.forms import lifetime
from portal.onboarding.forms.fields import ClientSecretField, ScopeField


class NotificationPreferenceForm(forms.ModelForm[NotificationPreference]):
    email_enabled = forms.BooleanField(
        required=False,
        label=_("E-mail me when a connection I set up stops working or works again"),
    )
    email = forms.EmailField(
        required=False,
        label=_("Send them to"),
        help_text=_("HDP does not tell the portal your e-mail address; without one, no e-mail is sent."),
    )

    class Meta:
        model = NotificationPreference
        fields = ["email_enabled", "email"]


class SecretForm(forms.Form):
    """ "New client secret": write-only, never rendered back, not even after an error."""

    client_secret = ClientSecretField(
        label=_("New client secret"),
        error_messages={"required": _("Enter the new client secret from the provider's app registration.")},
    )


class ScopeForm(forms.Form):
    """ "Change the scopes": the wizard's scope check (RFC 6749 tokens, no ``&``, ``#`` or ``?``)."""

    scope = ScopeField(max_length=SCOPE_MAX)


class RepairForm(forms.Form):
    """A repair's confirmation: the cause the page showed, the other data sources ticked, and, when
    the application is registered again, its client secret (the wizard's field)."""

    cause = forms.CharField(max_length=32, required=False)
    #: Optional here: the repair itself says "Enter the client secret" when it needs one.
    client_secret = ClientSecretField(required=False)

    def also(self) -> list[int]:
        """The ids of the other data sources ticked (anything not a number is ignored)."""
        getlist = getattr(self.data, "getlist", None)
        return [int(v) for v in (getlist("also") if getlist else []) if str(v).isdigit()]


class SigninRuleForm(forms.Form):
    """The sign-in lifetime rule on the setup page (issue 22 item 2): the application step's question."""

    def __init__(self, data: Any = None, *, preset: Preset, rule: str = "", days: int | None = None) -> None:
        super().__init__(data, auto_id="signin_%s")
        self.preset = preset
        lifetime.add_fields(self, preset, rule, days)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lifetime.clean(self, self.preset, data)
        return data

    def chosen(self) -> tuple[str, int | None]:
        return lifetime.chosen(self, self.preset)
