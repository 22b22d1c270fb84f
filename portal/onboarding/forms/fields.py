"""Form fields the wizard and a completed setup's pages share, so that one input is checked one way
everywhere: the client secret (step b, a new secret, a repaired application) and the scopes (step b,
"Change the scopes")."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), scope tokens separated by spaces.
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
#: Valid in a scope token, refused anyway (SECURITY.md item 37): a tool that builds the authorize
#: address by concatenation would read them as the start of another parameter, a query or a fragment.
SCOPE_REFUSED = "&#?"
#: The longest client secret the portal takes (the wizard, a new secret, a repair alike).
SECRET_MAX = 1000
#: Any control character (C0, DEL): a pasted secret with a NUL or a line break is not a secret.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def scope_tokens(raw: str) -> list[str]:
    """The scope tokens of ``raw`` (split on whitespace); ValidationError naming the first bad one."""
    tokens = raw.split()
    for token in tokens:
        refused = next((c for c in token if c in SCOPE_REFUSED), None)
        if refused is not None:
            raise ValidationError(
                _(
                    "%(scope)s contains %(char)s, which the portal does not accept in a scope: HDP or another "
                    "tool may put the scopes into the sign-in address, where %(char)s would change the address."
                )
                % {"scope": token[:60], "char": refused},
                code="scope_reserved",
            )
        if not SCOPE_TOKEN.match(token):
            raise ValidationError(
                _(
                    "%(scope)s is not a valid scope: use letters, digits and punctuation, no quotes or backslashes."
                )
                % {"scope": token[:60]},
                code="scope_invalid",
            )
    return tokens


def validate_scope(value: str) -> None:
    scope_tokens(value)


class ScopeField(forms.CharField):
    """Scopes separated by spaces; cleaned to single spaces between RFC 6749 scope tokens."""

    default_validators = [validate_scope]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _l("Scopes"))
        kwargs.setdefault("help_text", _l("Separated by spaces."))
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", _l("Enter at least one scope, separated by spaces."))
        kwargs["error_messages"].setdefault("max_length", _l("The scopes are too long for HDP."))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return " ".join(str(super().to_python(value)).split())


class ClientSecretField(forms.CharField):
    """A client secret: write-only (never rendered back), surrounding spaces removed, no control
    characters, at most :data:`SECRET_MAX` characters. The wizard, a rotated secret and a repaired
    application take it through this one field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _l("Client secret"))
        kwargs.setdefault("max_length", SECRET_MAX)
        kwargs.setdefault("widget", forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault(
            "required", _l("Enter the client secret from the provider's app registration.")
        )
        kwargs["error_messages"].setdefault(
            "max_length", _l("This is longer than any client secret (at most %(limit_value)d characters).")
        )
        super().__init__(strip=True, **kwargs)

    def validate(self, value: Any) -> None:
        # Before the validators: Django's own NUL check would otherwise speak first, in general words.
        if value and _CONTROL.search(str(value)):
            raise ValidationError(
                _(
                    "The client secret contains a control character (such as a line break or a NUL byte). "
                    "Copy it again from the provider's app registration."
                ),
                code="secret_control",
            )
        super().validate(value)
