"""The admin's "Ask the account owner" form (issue 19): optional e-mail, a short note, validity."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _l

from portal.oauth import handoff

VALIDITY = [
    (4, _l("4 hours")),
    (24, _l("1 day")),
    (handoff.DEFAULT_HOURS, _l("3 days")),
    (handoff.MAX_HOURS, _l("7 days (the longest)")),
]


class HandoffForm(forms.Form):
    email = forms.EmailField(
        label=_l("The account owner's e-mail address (optional)"),
        required=False,
        max_length=254,
        help_text=_l("The portal e-mails the link there. Leave it empty to copy the link yourself."),
    )
    note = forms.CharField(
        label=_l("A short note for them (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    hours = forms.TypedChoiceField(
        label=_l("The link works for"), choices=VALIDITY, coerce=int, initial=handoff.DEFAULT_HOURS
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data.get("note", "")
        return " ".join(note.split())
