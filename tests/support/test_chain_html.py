"""``{% people %}`` and ``{% datasource_rows %}`` (portal/support/templatetags/support.py) write exactly
what the tenant page's partials wrote (PEOPLE and DATASOURCES below, support/_people.html and
support/_ds_rows.html before the tags): for one tenant or many, counts, unknown shares, data sources with
and without findings, store names, names that need escaping, with and without a CSRF token, in English,
German and French, with and without autoescape."""

from __future__ import annotations

import itertools

import pytest
from django.template import Context, Engine, engines
from django.test import RequestFactory
from django.urls import resolve
from django.utils.translation import override

from portal.support.chain import DataSourceFact, DataSourceNode, Finding
from portal.support.chain.tree import Chain, People

#: support/_people.html before the tag.
PEOPLE = """{% load i18n %}<p class="blast people">{% if people.tenants %}{% for t in people.tenants %}{% if t == chain.tenant_id %}{% blocktranslate with name=tenant_name %}People who query through it: the whole tenant {{ name }}.{% endblocktranslate %}{% else %}{% blocktranslate with id=t %}People who query through it: the whole tenant with HDP id {{ id }}.{% endblocktranslate %}{% endif %} {% endfor %}{% else %}{% blocktranslate count n=people.count %}People who query through it: {{ n }} (the owner and the people it is shared with).{% plural %}People who query through it: {{ n }} (the owners and the people they shared with).{% endblocktranslate %}{% endif %}{% if people.unknown %} {% translate "HDP did not list the shares of every data source here, so there may be more." %}{% endif %}</p>
"""
#: support/_ds_rows.html before the tag.
DATASOURCES = """{% load i18n %}{% translate "Data source" as ds_label %}{% translate "HDP id" as id_label %}{% translate "Owner" as owner_label %}{% translate "Data store" as store_label %}{% translate "Test" as test_word %}<table class="support-table">
  <caption class="{% if caption_hidden %}visually-hidden{% endif %}">{{ caption }}</caption>
  <thead><tr><th scope="col">{{ ds_label }}</th><th scope="col">{{ id_label }}</th><th scope="col">{{ owner_label }}</th><th scope="col">{{ store_label }}</th><th scope="col"><span class="visually-hidden">{% translate "Actions" %}</span></th></tr></thead>
  <tbody>
  {% for node in nodes %}
    <tr>
      <td data-label="{{ ds_label }}"><span class="hdp-name">{{ node.fact.name }}</span>{% for f in node.findings %}{% include "support/_finding.html" with compact=True %}{% endfor %}</td>
      <td data-label="{{ id_label }}">{{ node.fact.id }}</td>
      <td data-label="{{ owner_label }}">{{ node.fact.owner }}</td>
      <td data-label="{{ store_label }}">{{ node.store_name|default:node.fact.data_store }}</td>
      <td class="row-actions">
        <form method="post" action="{% url 'support:test-datasource' tenant_id node.fact.id %}" class="inline">{% csrf_token %}
          <button type="submit" class="button small secondary">{{ test_word }}<span class="visually-hidden"> {% blocktranslate with name=node.fact.name %}data source {{ name }}{% endblocktranslate %}</span></button>
        </form>
      </td>
    </tr>
  {% endfor %}
  </tbody>
</table>
"""

PEOPLE_CALLS = {
    "reference": "{% include 'people.html' with people=people %}",
    "tag": "{% load support %}{% people people %}",
}
DATASOURCE_CALLS = {
    "reference": "{% include 'ds_rows.html' with nodes=nodes caption=cap caption_hidden=hidden %}",
    "tag": "{% load support %}{% datasource_rows nodes cap hidden %}",
}


def _people() -> list[People]:
    made = [People(count=n) for n in (0, 1, 2, 1234)]
    made += [
        People(count=3, unknown=True),
        People(count=1, tenants=(71,)),
        People(count=2, tenants=(5, 71, 900)),
    ]
    made += [People(count=0, tenants=(72,), unknown=True)]
    return made


def _nodes() -> list[DataSourceNode]:
    finding = Finding(code="datasource_missing_profile", severity="problem", text="Data source <x> & y broke.",
                      action="Ask ada to reconnect.", ask_owner="ada", affected=("one", "two"))  # fmt: skip
    note = Finding(code="note", severity="note", text="A note.", action="Nothing.")
    return [
        DataSourceNode(DataSourceFact(id=1, name="BenchGA", data_store=54, owner="acme_admin"), store_name="Google Analytics"),
        DataSourceNode(DataSourceFact(id=123456, name='<b>"odd" & \'name\'</b>', data_store=77, owner="<ada>"), findings=[finding]),
        DataSourceNode(DataSourceFact(id=3, name="x", data_store=None, owner="bob"), findings=[finding, note]),
    ]  # fmt: skip


def _engine_with_references():
    """The portal's engine, with the former partials under names of their own (support/_finding.html,
    which a data source's findings still include, from the portal's templates)."""
    django_engine = engines["django"]
    return Engine(
        dirs=django_engine.engine.dirs,
        app_dirs=False,
        libraries=django_engine.engine.libraries,
        loaders=[
            ("django.template.loaders.locmem.Loader", {"people.html": PEOPLE, "ds_rows.html": DATASOURCES}),
            "django.template.loaders.filesystem.Loader",
        ],
    )


def _render(engine, source: str, context: dict[str, object], *, autoescape: bool) -> str:
    if not autoescape:
        source = "{% autoescape off %}" + source + "{% endautoescape %}"
    request = RequestFactory().get("/support/tenants/71/")
    request.resolver_match = resolve("/support/tenants/71/")
    template = engine.from_string(source)
    return template.render(Context({**context, "request": request}, autoescape=autoescape))


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_people_writes_what_the_partial_wrote(language, autoescape):
    engine = _engine_with_references()
    base = {"chain": Chain(tenant_id=71, hdp_complete=True), "tenant_name": "Acme <& Co>"}
    with override(language):
        for people in _people():
            written = {
                k: _render(engine, call, {**base, "people": people}, autoescape=autoescape)
                for k, call in PEOPLE_CALLS.items()
            }
            assert written["tag"] == written["reference"], people
            assert written["tag"].startswith('<p class="blast people">') and written["tag"].endswith("</p>\n")


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_datasource_rows_write_what_the_partial_wrote(language, autoescape):
    engine = _engine_with_references()
    nodes = _nodes()
    with override(language):
        for count, hidden, token in itertools.product(
            (0, 1, 3), (True, False), ("tok<en>", "", "NOTPROVIDED")
        ):
            context = {
                "nodes": nodes[:count],
                "cap": "Data sources & more",
                "hidden": hidden,
                "tenant_id": 71,
                "csrf_token": token,
            }
            written = {
                k: _render(engine, call, context, autoescape=autoescape)
                for k, call in DATASOURCE_CALLS.items()
            }
            assert written["tag"] == written["reference"], (count, hidden, token)
            assert written["tag"].count("<tr>") == count + 1
            assert ('action="/support/tenants/71/datasources/123456/test/"' in written["tag"]) is (count >= 2)
