"""The form renderer (``settings.FORM_RENDERER``): Django's widget markup, the simple inputs built in Python.

Django renders every widget through its templates (``django/forms/widgets/input.html``, which
includes ``attrs.html`` and loops over the attributes in the template language): about 0.3 ms of CPU
for one text input with the portal's dozen attributes (htmx, aria), more than the rest of the field.
A wizard step shows five to twelve of them. :class:`PortalFormRenderer` writes the same markup in
Python for the widgets that are a single ``<input>`` (text, password, email, url, number, hidden,
checkbox, ...), a ``<textarea>``, a ``<select>`` or one choice of a radio or checkbox list shown by itself
(``{{ radio.tag }}``, as the lifetime and token-auth questions show theirs): byte for byte what the templates give, escaping
included (tests/lib/test_widgets.py compares both for every widget and every form of the portal). A
value the template language would treat specially (a callable, a label that is not a string) and
everything else (radio lists, forms, formsets) still goes through Django's templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.functional import Promise
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


class _Unusual(Exception):
    """A value the template language would treat specially (a callable it would call, a label it
    would localize): the caller falls back to Django's templates."""


def _plain(value: Any) -> Any:
    if callable(value):
        raise _Unusual
    return value


def _text(value: Any) -> str:
    """``{{ value }}`` of a string or a lazy string (anything else: the templates decide)."""
    if isinstance(value, str):
        return conditional_escape(value)
    if isinstance(value, Promise):
        return conditional_escape(str(value))
    raise _Unusual


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``: `` name="value"`` per attribute, `` name`` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        value = _plain(value)
        if value is False:
            continue
        parts.append(f" {conditional_escape(name)}")
        if value is not True:
            parts.append(f'="{conditional_escape(_stringformat(value))}"')
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """``input.html``."""
    value = _plain(widget["value"])
    shown = f' value="{conditional_escape(_stringformat(value))}"' if value != None else ""  # noqa: E711 - the template's `!= None`
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    """``textarea.html`` (its line break after the opening tag included)."""
    value = _plain(widget["value"])
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


def _select(widget: dict[str, Any]) -> str:
    """``select.html`` with each option's ``select_option.html`` (line breaks and indents included)."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != _WIDGETS + "select_option.html":
                raise _Unusual
            value = conditional_escape(_stringformat(_plain(option["value"])))
            label = _text(_plain(option["label"]))
            parts.append(f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _option(widget: dict[str, Any]) -> str:
    """``radio_option.html`` / ``checkbox_option.html`` (``input_option.html``) without the label around
    it, as ``BoundWidget.tag()`` renders a choice: then exactly ``input.html``. With the label: the templates."""
    if widget.get("wrap_label"):
        raise _Unusual
    return _input(widget)


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
_FAST[_WIDGETS + "radio_option.html"] = _option
_FAST[_WIDGETS + "checkbox_option.html"] = _option
_FAST[_WIDGETS + "textarea.html"] = _textarea
_FAST[_WIDGETS + "select.html"] = _select


class PortalFormRenderer(DjangoTemplates):
    """Django's ``DjangoTemplates`` renderer; the single-element widgets are written directly."""

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        fast = _FAST.get(template_name)
        widget = context.get("widget") if fast is not None else None
        if fast is not None and isinstance(widget, dict):
            try:
                return fast(widget)
            except _Unusual:
                pass
        return super().render(template_name, context, request)
