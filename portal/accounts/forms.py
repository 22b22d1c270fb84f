from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class AccessibleForm(forms.Form):
    """Links every control to its help text and error message (``aria-describedby``).

    The error element (``<id>-error``) is referenced even before it exists, so an error rendered
    later by inline validation is announced without re-rendering the control.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name, field in self.fields.items():
            auto_id = self[name].auto_id
            ids = [f"{auto_id}-help"] if field.help_text else []
            ids.append(f"{auto_id}-error")
            field.widget.attrs["aria-describedby"] = " ".join(ids)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field and field in self.fields:
            self.fields[field].widget.attrs["aria-invalid"] = "true"


class LoginForm(AccessibleForm):
    username = forms.CharField(
        label=_("HDP user name"),
        max_length=128,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}
        ),
    )
    password = forms.CharField(
        label=_("HDP password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
    )
