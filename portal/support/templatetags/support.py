"""``{% load support %}``: ``{% if user|is_support_staff %}…{% endif %}`` for the header link, and
``{% setup_rows %}``, the tenant page's table of portal setups written in Python.

``setup_rows`` writes exactly what the table's former template code wrote per setup (a ``{% with %}``,
about thirty variable lookups, two date filters, an include of ``connections/_status.html`` and a loop
over the recorded objects: about 0.7 ms of CPU for one setup): each value rendered as the template
language renders it (``render_value_in_context``: localisation and escaping), the filters and
translations called as the tags call them. tests/support/test_setup_rows.py compares it with the
former template code and with the ``connections/_status.html`` partial, in English, German and French.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.template.defaultfilters import date, timesince_filter
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in django-stubs
from django.utils.translation import gettext

from portal.support import access

register = template.Library()

_DASH = mark_safe("—")  # the templates' "—" literal (a template's own text is safe)


@register.filter
def is_support_staff(user: Any) -> bool:
    return access.is_support_staff(user)


class _Writer:
    """Renders values as ``{{ ... }}`` does in ``context``."""

    def __init__(self, context: template.Context) -> None:
        self.context = context

    def show(self, value: Any) -> str:
        if type(value) is str:  # a plain string: only escaped (what render_value_in_context does to one)
            return str(escape(value)) if self.context.autoescape else value
        return str(render_value_in_context(value, self.context))

    def date(self, value: Any, form: str) -> str:
        """``{{ value|date:form }}``."""
        return self.show(date(template_localtime(value, self.context.use_tz), form))

    def status(self, status: Any) -> str:
        """What ``{% include "connections/_status.html" with status=status %}`` writes."""
        show, checked_at = self.show, status.checked_at
        stale = status.state == "stale"
        label = gettext("Not checked since") if stale and checked_at else show(status.label)
        parts = [f'\n<span class="status status-{show(status.state)}">{label}</span>']
        if checked_at:
            checked = "" if stale else " " + gettext("checked")
            since = gettext("%(since)s ago") % {"since": show(timesince_filter(checked_at))}
            parts.append(
                f'<span class="small checked-at">{checked} <time datetime="{self.date(checked_at, "c")}">'
                f"{self.date(checked_at, 'DATETIME_FORMAT')} UTC</time> ({since})</span>"
            )
        parts.append("\n")
        return "".join(parts)


@register.simple_tag(takes_context=True)
def setup_rows(context: template.Context, setups: Iterable[Mapping[str, Any]], *labels: Any) -> SafeString:
    """The rows of the tenant page's setups (``{"run", "connection", "objects"}`` each); ``labels``: the
    table's translated column labels (owner, data store, status, connection, recorded, last update)
    and its word "id", as the template has them."""
    w = _Writer(context)
    show = w.show
    owner, store, state, connection, recorded, updated, id_word = (show(label) for label in labels)
    rows = []
    for setup in setups:
        run, status, objects = setup["run"], setup["connection"], setup["objects"]
        items = (
            "".join(
                f'<li>{show(o.get_kind_display())} <span class="hdp-name">{show(o.name)}</span> '
                f"({id_word} {show(o.remote_id or _DASH)}): {show(o.get_outcome_display())}</li>"
                for o in objects
            )
            or f"<li>{gettext('nothing yet')}</li>"
        )
        rows.append(
            f'\n      <tr>\n        <td data-label="{owner}">{show(run.owner.username)}</td>'
            f'\n        <td data-label="{store}">{show(run.datastore_name or _DASH)}</td>'
            f'\n        <td data-label="{state}"><span class="status status-{show(run.status)}">'
            f"{show(run.get_status_display())}</span></td>"
            f'\n        <td data-label="{connection}">{w.status(status) if status else _DASH}</td>'
            f'\n        <td data-label="{recorded}"><ul class="recorded">{items}</ul></td>'
            f'\n        <td data-label="{updated}"><time datetime="{w.date(run.updated_at, "c")}">'
            f"{w.date(run.updated_at, 'DATETIME_FORMAT')} UTC</time></td>\n      </tr>\n    "
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above went through render_value_in_context
