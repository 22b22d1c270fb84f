from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.accounts.forms import AccessibleForm

REASON_MIN, REASON_MAX = 5, 300


class ReasonForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Why are you looking?"),
        help_text=_(
            "A ticket id (for example SUP-1234) or one sentence, 5 to 300 characters. It is written "
            "into the audit trail with every page you open and every action you take for the next hour."
        ),
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
