"""Step a: tenant and data store + provider preset."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.accounts.forms import AccessibleForm


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
