from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.connections.models import NotificationPreference


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
