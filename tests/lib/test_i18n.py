"""portal/lib/i18n.py renders every form of {% translate %} exactly as Django's own i18n library does."""

from __future__ import annotations

import pytest
from django.template import Context, Engine
from django.utils import translation

from portal.lib import i18n

SNIPPETS = [
    '{% translate "Check now" %}',
    '{% trans "Check now" %}',
    "{% translate 'Started by' %}",
    '{% translate "Recent checks" as heading %}[{{ heading }}]',
    '{% translate "100% done" %}',
    '{% translate "100%% done" %}',
    '{% translate "<b>bold</b> & co" %}',
    "{% translate \"a <b> & 'quoted'\" as x %}{{ x }}",
    '{% translate "" %}',
    '{% translate "Check now" noop %}',
    '{% translate "Check now" context "button" %}',
    '{% translate "May" context "month name" as m %}{{ m }}',
    '{% translate "Check now"|upper %}',
    "{% translate word %}",
    "{% translate word as w %}{{ w }}",
    "{% translate unsafe %}",
    '<p title="{% translate "Working" %}">{% translate "Not checked yet" %}</p>',
]


def _engines() -> tuple[Engine, Engine]:
    django_engine = Engine(libraries={"i18n": "django.templatetags.i18n"})
    portal_engine = Engine(libraries={"i18n": "portal.lib.i18n"})
    return django_engine, portal_engine


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("snippet", SNIPPETS)
def test_the_same_output_as_djangos_translate(snippet, language, autoescape):
    django_engine, portal_engine = _engines()
    source = "{% load i18n %}" + snippet
    values = {"word": "Working", "unsafe": "<i>Working</i>"}
    with translation.override(language):
        expected = django_engine.from_string(source).render(Context(values, autoescape=autoescape))
        got = portal_engine.from_string(source).render(Context(values, autoescape=autoescape))
    assert got == expected
    assert type(got) is type(expected)


def test_a_quoted_literal_takes_the_direct_path_and_the_rest_djangos():
    _django_engine, portal_engine = _engines()
    template = portal_engine.from_string(
        '{% load i18n %}{% translate "Check now" %}{% translate "x" noop %}{% translate word %}'
        '{% translate "y" context "z" %}{% translate "w"|upper %}'
    )
    nodes = [n for n in template.nodelist if isinstance(n, i18n.TranslateNode)]
    assert [n.msgid for n in nodes] == ["Check now", None, None, None, None]


def test_every_other_tag_and_filter_of_the_library_is_djangos():
    from django.templatetags import i18n as django_i18n

    assert set(i18n.register.tags) == set(django_i18n.register.tags)
    assert i18n.register.filters == django_i18n.register.filters
    assert i18n.register.tags["blocktranslate"] is django_i18n.register.tags["blocktranslate"]


def test_the_portals_templates_load_it(settings):
    from django.template import engines

    assert engines["django"].engine.template_libraries["i18n"] is i18n.register


def test_i18n_is_the_only_template_library_name_registered_twice():
    """settings.SILENCED_SYSTEM_CHECKS silences templates.W003 for the i18n override only."""
    from collections import Counter

    from django.conf import settings
    from django.core.checks import run_checks
    from django.template.backends.django import get_template_tag_modules

    names = Counter(name for name, _module in get_template_tag_modules())
    for engine in settings.TEMPLATES:
        names.update(list(engine.get("OPTIONS", {}).get("libraries", {})))
    assert [name for name, n in names.items() if n > 1] == ["i18n"]
    assert "templates.W003" in settings.SILENCED_SYSTEM_CHECKS
    assert not [m for m in run_checks(tags=["templates"]) if m.id != "templates.W003" and m.is_serious()]
