"""Step a: tenant and data store first, then (where there is a choice) the provider."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _l

from portal.accounts.forms import AccessibleForm


class StoreForm(AccessibleForm):
    """Step a: tenant (only when the person administers several), data store, then provider.

    One form for both stages, so it works without JavaScript: the first submit names the store; when
    the store has several providers the page comes back with the store shown as chosen and the
    provider choice below it; the second submit (store and provider) starts the setup.
    """

    # Names this setup before it exists: a second submit of the same page (double click, reload
    # with JavaScript off) finds the run the first one created instead of starting another.
    setup_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    tenant = forms.TypedChoiceField(label=_l("Tenant"), coerce=int)
    datastore = forms.TypedChoiceField(
        label=_l("Which data should HDP read?"), coerce=int, widget=forms.RadioSelect
    )
    provider = forms.ChoiceField(label=_l("Who signs you in?"), required=False, widget=forms.RadioSelect)

    def __init__(
        self,
        data: Any = None,
        *,
        tenants: list[dict[str, Any]],
        stores: list[tuple[int, str]],
        providers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(data, initial={"setup_id": uuid.uuid4()})
        if len(tenants) > 1:
            self.fields["tenant"].choices = [  # type: ignore[attr-defined]
                (int(str(t["id"])), str(t["name"])) for t in tenants
            ]
        else:
            del self.fields["tenant"]
        self.fields["datastore"].choices = stores  # type: ignore[attr-defined]
        self.fields["provider"].choices = providers or []  # type: ignore[attr-defined]
