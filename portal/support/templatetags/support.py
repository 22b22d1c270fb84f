"""``{% load support %}``: ``{% if user|is_support_staff %}…{% endif %}`` for the header link, and the
tenant page's repeated parts written in Python: ``{% setup_rows %}`` (its table of portal setups),
``{% chain_apps %}`` (its applications with their profiles), ``{% people %}`` (who queries through an
application or a profile) and ``{% datasource_rows %}`` (a table of data sources); a finding among them is
still ``support/_finding.html``.

``setup_rows`` writes exactly what the table's former template code wrote per setup (a ``{% with %}``,
about thirty variable lookups, two date filters, an include of ``connections/_status.html`` and a loop
over the recorded objects: about 0.7 ms of CPU for one setup): each value rendered as the template
language renders it (``render_value_in_context``: localisation and escaping), the filters and
translations called as the tags call them. tests/support/test_setup_rows.py compares it with the
former template code and with the ``connections/_status.html`` partial, in English, German and French;
tests/support/test_chain_html.py compares ``chain_apps``, ``people`` and ``datasource_rows`` with the former
template code and partials (``support/_people.html``, ``support/_ds_rows.html``) the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.template.defaultfilters import date, timesince_filter
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in django-stubs
from django.utils.translation import gettext, ngettext

from portal.support import access
from portal.support.chain import AppNode, DataSourceNode, Finding
from portal.support.chain.tree import People

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
            since = _blocktranslate(
                lambda: gettext("%(since)s ago"), lambda: {"since": show(timesince_filter(checked_at))}
            )
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
            or "<li>" + gettext("nothing yet") + "</li>"
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


def _blocktranslate(message: Callable[[], str], data: Callable[[], dict[str, str]]) -> str:
    """What ``{% blocktranslate %}`` writes: ``message()`` (the gettext or ngettext of the tag's text, with
    ``%(name)s`` for each ``{{ name }}``) filled in with ``data()`` (the values, rendered); both again in
    English when the translation does not fit the values, as the tag does."""
    try:
        return message() % data()
    except (KeyError, ValueError):
        with translation.override(None):
            return message() % data()


@register.simple_tag(takes_context=True)
def people(context: template.Context, people: People) -> SafeString:
    """What ``{% include "support/_people.html" with people=people %}`` wrote (the page's ``chain`` and
    ``tenant_name`` name this tenant)."""
    show = _Writer(context).show
    parts = ['<p class="blast people">']
    if people.tenants:
        own = getattr(context.get("chain"), "tenant_id", None)  # {% if t == chain.tenant_id %}
        for t in people.tenants:
            if t == own:
                parts.append(
                    _blocktranslate(
                        lambda: gettext("People who query through it: the whole tenant %(name)s."),
                        lambda: {"name": show(context.get("tenant_name", ""))},
                    )
                )
            else:
                parts.append(
                    _blocktranslate(
                        lambda: gettext("People who query through it: the whole tenant with HDP id %(id)s."),
                        lambda: {"id": show(t)},  # noqa: B023 - called at once
                    )
                )
            parts.append(" ")
    else:
        parts.append(
            _blocktranslate(
                lambda: ngettext(
                    "People who query through it: %(n)s (the owner and the people it is shared with).",
                    "People who query through it: %(n)s (the owners and the people they shared with).",
                    people.count,
                ),
                lambda: {"n": show(people.count)},
            )
        )
    if people.unknown:
        parts.append(
            " " + gettext("HDP did not list the shares of every data source here, so there may be more.")
        )
    parts.append("</p>\n")
    return mark_safe("".join(parts))  # noqa: S308 - values rendered as the template language renders them


def _current_app(context: template.Context) -> Any:
    """The ``current_app`` of ``{% url %}``."""
    request: Any = getattr(context, "request", None)
    try:
        return request.current_app
    except AttributeError:
        try:
            return request.resolver_match.namespace
        except AttributeError:
            return None


@register.simple_tag(takes_context=True)
def datasource_rows(
    context: template.Context, nodes: Iterable[DataSourceNode], caption: Any, caption_hidden: bool
) -> SafeString:
    """What ``{% include "support/_ds_rows.html" with nodes=nodes caption=caption caption_hidden=... %}``
    wrote: a table of data sources, each with its findings (``support/_finding.html``, compact) and its
    Test button (the page's ``tenant_id`` and ``csrf_token``)."""
    show = _Writer(context).show
    ds_label, id_label, owner_label = gettext("Data source"), gettext("HDP id"), gettext("Owner")
    store_label, test_word, actions = gettext("Data store"), gettext("Test"), gettext("Actions")
    token = context.get("csrf_token")
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'
        if token and token != "NOTPROVIDED"
        else ""
    )
    tenant_id, current_app = context.get("tenant_id"), _current_app(context)
    parts = [
        f'<table class="support-table">\n  <caption class="{"visually-hidden" if caption_hidden else ""}">'
        f'{show(caption)}</caption>\n  <thead><tr><th scope="col">{ds_label}</th><th scope="col">{id_label}</th>'
        f'<th scope="col">{owner_label}</th><th scope="col">{store_label}</th><th scope="col"><span '
        f'class="visually-hidden">{actions}</span></th></tr></thead>\n  <tbody>\n  '
    ]
    for node in nodes:
        fact = node.fact
        found = _findings(context, node.findings)
        url = reverse("support:test-datasource", args=[tenant_id, fact.id], current_app=current_app)
        if context.autoescape:
            url = escape(url)
        name = show(fact.name)
        label = _blocktranslate(lambda: gettext("data source %(name)s"), lambda: {"name": name})  # noqa: B023
        parts.append(
            f'\n    <tr>\n      <td data-label="{ds_label}"><span class="hdp-name">{name}</span>{found}</td>'
            f'\n      <td data-label="{id_label}">{show(fact.id)}</td>'
            f'\n      <td data-label="{owner_label}">{show(fact.owner)}</td>'
            f'\n      <td data-label="{store_label}">{show(node.store_name or fact.data_store)}</td>'
            f'\n      <td class="row-actions">\n        <form method="post" action="{url}" class="inline">{csrf}'
            f'\n          <button type="submit" class="button small secondary">{test_word}<span class="visually-hidden">'
            f" {label}</span></button>\n        </form>\n      </td>\n    </tr>\n  "
        )
    parts.append("\n  </tbody>\n</table>\n")
    return mark_safe("".join(parts))  # noqa: S308 - values rendered as the template language renders them


def _findings(context: template.Context, findings: Iterable[Finding]) -> str:
    """``{% for f in findings %}{% include "support/_finding.html" with compact=True %}{% endfor %}``."""
    written = ""
    for f in findings:
        finding = context.template.engine.get_template("support/_finding.html")  # type: ignore[union-attr]
        with context.push(f=f, compact=True):
            written += finding.render(context)
    return written


@register.simple_tag(takes_context=True)
def chain_apps(context: template.Context, apps: Iterable[AppNode]) -> SafeString:
    """What the tenant page's ``{% for app in chain.apps %}`` wrote for its applications: each with its
    blast radius, people, findings and profiles (theirs, and the profile's table of data sources)."""
    show = _Writer(context).show
    app_word, profile_word, id_word = (
        gettext("OAuth application"),
        gettext("OAuth profile"),
        gettext("HDP id"),
    )
    parts = []
    for app in apps:
        app_id = show(app.id)
        store = f", {show(app.store_name)}" if app.store_name else ""
        foreign = (
            ""
            if app.in_tenant
            else '<p class="small">'
            + gettext(
                "This application belongs to another tenant (for example System); profiles of this tenant use it."
            )
            + "</p>"
        )
        n = app.blast_radius
        blast = _blocktranslate(
            lambda: ngettext(
                "Blast radius: %(n)s data source depends on this application.",
                "Blast radius: %(n)s data sources depend on this application.",
                n,  # noqa: B023 - called at once
            ),
            lambda: {"n": show(n)},  # noqa: B023 - called at once
        )
        parts.append(
            f'\n  <article class="card chain-app" aria-labelledby="app-{app_id}">\n    <h3 id="app-{app_id}">{app_word} '
            f'{show(app.name)} <span class="small">({id_word} {app_id}{store})</span></h3>\n    {foreign}\n    '
            f'<p class="blast">{blast}</p>\n    {people(context, app.people)}\n    {_findings(context, app.findings)}\n    '
        )
        for profile in app.profiles:
            profile_id, m = show(profile.id), profile.blast_radius
            blast = _blocktranslate(
                lambda: ngettext(
                    "Blast radius: %(n)s data source depends on this profile.",
                    "Blast radius: %(n)s data sources depend on this profile.",
                    m,  # noqa: B023 - called at once
                ),
                lambda: {"n": show(m)},  # noqa: B023 - called at once
            )
            table = (
                datasource_rows(
                    context, profile.datasources, gettext("Data sources using this profile"), True
                )
                if profile.datasources
                else ""
            )
            parts.append(
                f'\n    <section class="chain-profile" aria-labelledby="profile-{profile_id}">\n      <h4 '
                f'id="profile-{profile_id}">{profile_word} {show(profile.name)} <span class="small">({id_word} '
                f'{profile_id})</span></h4>\n      <p class="blast">{blast}</p>\n      {people(context, profile.people)}'
                f"\n      {_findings(context, profile.findings)}\n      {table}\n    </section>\n    "
            )
        parts.append("\n  </article>\n  ")
    return mark_safe("".join(parts))  # noqa: S308 - values rendered as the template language renders them
