from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import hashers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import User
from portal.sandbox.hdp import passwords as sandbox_passwords
from portal.sandbox.provider import lifetimes


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
            sandbox_passwords.make(password)  # the same work as checking a seeded account: no timing hint
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


class RefreshLifetimeForm(forms.Form):
    """The console's "Refresh tokens expire after": never, 10 minutes, or a number of minutes."""

    NEVER, TEN, OTHER = "never", "10", "other"
    expire = forms.ChoiceField(
        label=_("Refresh tokens expire after"),
        choices=[(NEVER, _("never")), (TEN, _("10 minutes")), (OTHER, _("another number of minutes"))],
        widget=forms.RadioSelect,
        initial=NEVER,
    )
    minutes = forms.IntegerField(
        label=_("Minutes"),
        required=False,
        min_value=1,
        max_value=lifetimes.MAX_MINUTES,
        help_text=_("Counted from the consent; 1 to 129600 (90 days)."),
    )

    @classmethod
    def for_seconds(cls, seconds: int | None) -> RefreshLifetimeForm:
        """The form as the stored setting stands."""
        if not seconds:
            return cls(initial={"expire": cls.NEVER})
        if seconds == 600:
            return cls(initial={"expire": cls.TEN})
        return cls(initial={"expire": cls.OTHER, "minutes": seconds // 60})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("expire") == self.OTHER
            and not cleaned.get("minutes")
            and "minutes" not in self.errors
        ):
            self.add_error("minutes", _("Enter a number of minutes."))
        return cleaned

    def seconds(self) -> int | None:
        choice = self.cleaned_data["expire"]
        if choice == self.NEVER:
            return None
        if choice == self.TEN:
            return 600
        return int(self.cleaned_data["minutes"]) * 60
