"""HDP object names: the rules, a suggestion from the setup's words, and the htmx inline check hook."""

from __future__ import annotations

import re
from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

HDP_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# HDP: a data source name starts with a letter; letters, digits, "_" and "-" (docs/hdp-api.md §4).
DS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
NAME_MAX = 128
OAUTH_PROFILE_OPTION = "OAuthProfileId"

# Inline validation: which form field each validate endpoint key checks.
ValidateUrl = Callable[[str], str]


def suggest_name(*parts: str, suffix: str) -> str:
    """``Acme`` + ``Google Analytics`` + ``app`` -> ``Acme_GoogleAnalytics_app`` (HDP charset)."""
    words = [re.sub(r"[^A-Za-z0-9]", "", p) for p in parts]
    name = "_".join(w for w in [*words, suffix] if w)
    if not name[:1].isalpha():
        name = "S_" + name
    return name[:NAME_MAX]


def check_hdp_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a name."), code="required")
    if len(value) > NAME_MAX:
        raise ValidationError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, code="max_length")
    if not HDP_NAME.match(value):
        bad = sorted({ch for ch in value if not re.match(r"[A-Za-z0-9_]", ch)})
        shown = " ".join(str(_("space")) if ch == " " else ch for ch in bad)
        raise ValidationError(
            _("HDP allows only letters, digits and _ (underscore) here; remove: %(bad)s") % {"bad": shown},
            code="charset",
        )
    return value


def check_ds_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a name."), code="required")
    if len(value) > NAME_MAX:
        raise ValidationError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, code="max_length")
    if not value[0].isascii() or not value[0].isalpha():
        raise ValidationError(_("The name must start with a letter (A-Z or a-z)."), code="first_char")
    if not DS_NAME.match(value):
        raise ValidationError(
            _("Use only letters, digits, _ (underscore) and - (hyphen); no spaces or other signs."),
            code="charset",
        )
    return value


def _live(field: forms.Field, validate_url: ValidateUrl | None, key: str, html_name: str) -> None:
    """As-you-type checks: POST just this field (hx-params) to the local validate endpoint."""
    if validate_url is None:
        return
    field.widget.attrs.update(
        {
            "hx-post": validate_url(key),
            "hx-trigger": "input changed delay:400ms",
            "hx-params": html_name,
            "hx-target": f"#id_{html_name}-error-slot",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
    )
