from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.api import tokens

SCOPE_HELP = {
    "setups:read": _("Read your setups, their status and check history"),
    "setups:check": _("Queue checks of your setups"),
    "handoff:write": _("Send your setups' account owners a link to sign in, and revoke it"),
    "support:read": _("Support staff: every tenant's worst status and findings"),
}


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("What the token is for, e.g. 'nightly report'.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), widget=forms.CheckboxSelectMultiple, choices=(), required=True
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=tokens.MAX_DAYS,
        initial=90,
        label=_("Expires after (days)"),
        help_text=_("At most 365 days."),
    )

    def __init__(self, *args: Any, support: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = list(tokens.SCOPES)
        if not support:
            offered = [s for s in offered if s not in tokens.SUPPORT_SCOPES]
        self.fields["scopes"].choices = [(s, f"{s}: {SCOPE_HELP[s]}") for s in offered]  # type: ignore[attr-defined]
