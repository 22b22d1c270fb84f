"""``{% field_row field optional %}``: the markup of ``templates/partials/field.html``, built in Python.

Every form field of the portal is shown as ``partials/field.html`` shows it (label, "(optional)", the
widget, help text, the error slot that htmx fills). As template code it cost about 0.15 ms of CPU
per field beyond the widget itself (a ``{% with %}``, a dozen variable lookups and ifs), and a wizard
step shows up to twelve fields. The partial now calls this tag: the same bytes (each value rendered
as the template language renders it, escaping and localisation included;
tests/lib/test_fields.py compares it with the former template for every field of the portal's forms).
The pages write ``{% field form.x %}``, which gives what including the partial gives without an
include's cost. Registered as the ``portal_fields`` template library (settings.TEMPLATES ``libraries``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.template.base import render_value_in_context
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag(takes_context=True)
def field_row(context: template.Context, field: BoundField, optional: str) -> SafeString:
    """One field: ``optional`` is the already translated "(optional)" of the partial."""

    def show(value: Any) -> str:
        return str(render_value_in_context(value, context))

    auto_id = show(field.auto_id)
    errors = field.errors
    checkbox = getattr(field.field.widget, "input_type", None) == "checkbox"
    parts = [
        '\n<div class="field',
        " has-error" if errors else "",
        " field-check" if checkbox else "",
        f'" id="{auto_id}-wrap">\n  ',
    ]
    if checkbox:
        parts.append(f'\n    {show(field)} <label for="{auto_id}">{show(field.label)}</label>\n  ')
    else:
        mark = f' <span class="optional">{show(optional)}</span>' if not field.field.required else ""
        parts.append(f'\n    <label for="{auto_id}">{show(field.label)}{mark}</label>\n    {show(field)}\n  ')
    parts.append("\n  ")
    if field.help_text:
        parts.append(f'<p class="help" id="{auto_id}-help">{show(field.help_text)}</p>')
    parts.append(f'\n  \n  <div class="field-error-slot" id="{auto_id}-error-slot">')
    if errors:
        shown = " ".join(show(e) for e in errors)
        parts.append(f'<p class="field-error" id="{auto_id}-error">{shown}</p>')
    parts.append("</div>\n</div>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value above went through render_value_in_context


@register.simple_tag(takes_context=True)
def field(context: template.Context, bound: BoundField) -> SafeString:
    """``{% field form.x %}``: exactly what ``{% include "partials/field.html" with field=form.x %}``
    writes (the row and the partial's closing newline), without an include's cost (about 0.07 ms
    of CPU a field: the include's context, the partial's nodes and its "(optional)" lookup)."""
    return mark_safe(field_row(context, bound, gettext("(optional)")) + "\n")  # noqa: S308 - field_row's markup
