"""The form renderer (``settings.FORM_RENDERER``): Django's widget markup, the simple inputs built in Python.

Django renders every widget through its templates (``django/forms/widgets/input.html``, which
includes ``attrs.html`` and loops over the attributes in the template language): about 0.3 ms of CPU
for one text input with the portal's dozen attributes (htmx, aria), more than the rest of the field.
A wizard step shows five to twelve of them. :class:`PortalFormRenderer` writes the same markup in
Python for the widgets that are a single ``<input>`` or a ``<textarea>`` (text, password, email, url,
number, hidden, checkbox, ...): byte for byte what the templates give, escaping included
(tests/lib/test_widgets.py compares both for every widget and every form of the portal). Everything
else (select, radio lists, forms, formsets) still goes through Django's templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

_WIDGETS = "django/forms/widgets/"


def _stringformat(value: Any) -> Any:
    """``value|stringformat:'s'`` as the template language applies it (safe in, safe out)."""
    if isinstance(value, tuple):
        value = str(value)
    try:
        text = "%s" % value  # noqa: UP031 - exactly the filter's formatting
    except (ValueError, TypeError):
        return ""
    return mark_safe(text) if isinstance(value, SafeData) else text  # noqa: S308 - safe in, safe out


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``: `` name="value"`` per attribute, `` name`` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {conditional_escape(name)}")
        if value is not True:
            parts.append(f'="{conditional_escape(_stringformat(value))}"')
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """``input.html``."""
    value = widget["value"]
    shown = f' value="{conditional_escape(_stringformat(value))}"' if value != None else ""  # noqa: E711 - the template's `!= None`
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    """``textarea.html`` (its line break after the opening tag included)."""
    value = widget["value"]
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{conditional_escape(value) if value else ''}</textarea>"
    )


#: The widget templates that are exactly ``{% include "django/forms/widgets/input.html" %}``.
_FAST: dict[str, Callable[[dict[str, Any]], str]] = {
    _WIDGETS + name: _input
    for name in (
        "input.html",
        "text.html",
        "password.html",
        "email.html",
        "url.html",
        "number.html",
        "hidden.html",
        "checkbox.html",
        "search.html",
        "tel.html",
        "color.html",
        "date.html",
        "datetime.html",
        "time.html",
        "file.html",
    )
}
_FAST[_WIDGETS + "textarea.html"] = _textarea


class PortalFormRenderer(DjangoTemplates):
    """Django's ``DjangoTemplates`` renderer; the single-element widgets are written directly."""

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        fast = _FAST.get(template_name)
        widget = context.get("widget") if fast is not None else None
        if fast is None or not isinstance(widget, dict):
            return super().render(template_name, context, request)
        return fast(widget)
