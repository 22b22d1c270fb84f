from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import hashers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import User


class ProviderLoginForm(forms.Form):
    """Sign-in to the sandbox provider, checked against provider accounts only.

    Never goes through ``django.contrib.auth.authenticate`` (the portal's HdpBackend): a provider
    account must not become a portal sign-in, and a portal person must not sign in here.
    """

    username = forms.CharField(label=_("User name"), max_length=150, strip=True)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account: User | None = None
        self.fields["username"].widget.attrs.update(autocomplete="username", autofocus=True)
        self.fields["password"].widget.attrs.update(autocomplete="current-password")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        username, password = cleaned.get("username"), cleaned.get("password")
        if not username or not password:
            return cleaned
        account = User.objects.filter(
            username=username, is_sandbox_provider_account=True, is_active=True
        ).first()
        if account is None:
            hashers.make_password(password)  # same work as a real check: no timing hint
        elif hashers.check_password(password, account.password):
            self.account = account
            return cleaned
        raise ValidationError(_("That user name and password do not match a sandbox provider account."))


class RedirectUriForm(forms.Form):
    redirect_uri = forms.CharField(
        label=_("Redirect URI"),
        max_length=2000,
        help_text=_("An absolute http:// or https:// URL without a fragment, matched exactly."),
        validators=[URLValidator(schemes=["http", "https"])],
    )

    def clean_redirect_uri(self) -> str:
        uri: str = self.cleaned_data["redirect_uri"]
        if "#" in uri:
            # RFC 6749 section 3.1.2: the redirection endpoint URI MUST NOT include a fragment.
            raise ValidationError(_("A redirect URI must not contain a fragment (#...)."))
        return uri
