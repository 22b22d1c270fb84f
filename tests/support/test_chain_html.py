"""``{% chain_apps %}``, ``{% people %}`` and ``{% datasource_rows %}`` (portal/support/templatetags/support.py)
write exactly what the tenant page's template code and partials wrote (APPS, PEOPLE and DATASOURCES below:
its loop over the applications, support/_people.html and support/_ds_rows.html before the tags): for
applications of the tenant and of another, with and without store names, findings and profiles, profiles
with and without data sources, one tenant or many, counts, unknown shares, data sources with and without
findings, names that need escaping, with and without a CSRF token, in English, German and French, with
and without autoescape."""

from __future__ import annotations

import itertools

import pytest
from django.template import Context, Engine, engines
from django.test import RequestFactory
from django.urls import resolve
from django.utils.translation import override

from portal.support.chain import DataSourceFact, DataSourceNode, Finding
from portal.support.chain.tree import AppNode, Chain, People, ProfileNode

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

#: templates/support/tenant.html's loop over the applications before ``{% chain_apps %}``.
APPS = """{% load i18n support %}  {% for app in chain.apps %}
  <article class="card chain-app" aria-labelledby="app-{{ app.id }}">
    <h3 id="app-{{ app.id }}">{% translate "OAuth application" %} {{ app.name }} <span class="small">({% translate "HDP id" %} {{ app.id }}{% if app.store_name %}, {{ app.store_name }}{% endif %})</span></h3>
    {% if not app.in_tenant %}<p class="small">{% translate "This application belongs to another tenant (for example System); profiles of this tenant use it." %}</p>{% endif %}
    <p class="blast">{% blocktranslate count n=app.blast_radius %}Blast radius: {{ n }} data source depends on this application.{% plural %}Blast radius: {{ n }} data sources depend on this application.{% endblocktranslate %}</p>
    {% people app.people %}
    {% for f in app.findings %}{% include "support/_finding.html" with compact=True %}{% endfor %}
    {% for profile in app.profiles %}
    <section class="chain-profile" aria-labelledby="profile-{{ profile.id }}">
      <h4 id="profile-{{ profile.id }}">{% translate "OAuth profile" %} {{ profile.name }} <span class="small">({% translate "HDP id" %} {{ profile.id }})</span></h4>
      <p class="blast">{% blocktranslate count n=profile.blast_radius %}Blast radius: {{ n }} data source depends on this profile.{% plural %}Blast radius: {{ n }} data sources depend on this profile.{% endblocktranslate %}</p>
      {% people profile.people %}
      {% for f in profile.findings %}{% include "support/_finding.html" with compact=True %}{% endfor %}
      {% if profile.datasources %}{% translate "Data sources using this profile" as cap %}{% datasource_rows profile.datasources cap True %}{% endif %}
    </section>
    {% endfor %}
  </article>
  {% empty %}
  <p>{% if chain.hdp_complete %}{% translate "This tenant has no OAuth applications in HDP." %}{% else %}{% translate "HDP could not be read, so the applications are not shown." %}{% endif %}</p>
  {% endfor %}
"""
APPS_NOW = """{% load i18n support %}  {% if chain.apps %}{% chain_apps chain.apps %}{% else %}
  <p>{% if chain.hdp_complete %}{% translate "This tenant has no OAuth applications in HDP." %}{% else %}{% translate "HDP could not be read, so the applications are not shown." %}{% endif %}</p>
  {% endif %}
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


# The reference partial's {% csrf_token %} is Django's: with the token NOTPROVIDED, Django 5.2's own tag
# calls format_html("") and warns about it (RemovedInDjango60Warning); not the portal's code.
@pytest.mark.filterwarnings("ignore:Calling format_html\\(\\) without passing args")
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


def _chains() -> list[Chain]:
    nodes = _nodes()
    problem = Finding(code="app_unused", severity="note", text="Nothing <uses> it.", action="Delete it?")
    own = AppNode(id=1, name="Acme_app", data_store=54, store_name="Google Analytics", findings=[problem])
    own.profiles = [
        ProfileNode(id=10, name="P <one>", datasources=nodes[:1]),
        ProfileNode(id=11, name="P two", datasources=nodes[1:], findings=[problem]),
        ProfileNode(id=12, name="unused"),
    ]
    foreign = AppNode(id=99, name="System app", data_store=None, in_tenant=False)
    foreign.profiles = [ProfileNode(id=13, name="shared", datasources=nodes[2:])]
    lonely = AppNode(id=2, name="no profiles", data_store=None)
    return [
        Chain(tenant_id=71, hdp_complete=True, apps=[own, foreign, lonely]),
        Chain(tenant_id=71, hdp_complete=True, apps=[lonely]),
        Chain(tenant_id=71, hdp_complete=True),
        Chain(tenant_id=71, hdp_complete=False),
    ]


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_chain_apps_write_what_the_template_code_wrote(language, autoescape):
    engine = _engine_with_references()
    with override(language):
        for chain in _chains():
            context = {"chain": chain, "tenant_name": "Acme", "tenant_id": 71, "csrf_token": "tok"}
            expected = _render(engine, APPS, context, autoescape=autoescape)
            assert _render(engine, APPS_NOW, context, autoescape=autoescape) == expected
            assert expected.count("<article") == len(chain.apps)
            assert expected.count('class="chain-profile"') == sum(len(app.profiles) for app in chain.apps)
            assert expected.count('class="finding ') == (7 if len(chain.apps) == 3 else 0)
