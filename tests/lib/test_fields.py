"""portal.lib.fields: {% field_row %} (templates/partials/field.html) writes exactly the markup the
partial's former template code wrote, for every field of the portal's forms."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils.translation import override

from portal.connections.forms import NotificationPreferenceForm
from portal.connections.models import NotificationPreference
from tests.helpers.forms import portal_forms

#: partials/field.html as it was before the tag (the reference the tag must match byte for byte).
REFERENCE = """{% load i18n %}{% with auto_id=field.auto_id errors=field.errors input_type=field.field.widget.input_type %}
<div class="field{% if errors %} has-error{% endif %}{% if input_type == 'checkbox' %} field-check{% endif %}" id="{{ auto_id }}-wrap">
  {% if input_type == "checkbox" %}
    {{ field }} <label for="{{ auto_id }}">{{ field.label }}</label>
  {% else %}
    <label for="{{ auto_id }}">{{ field.label }}{% if not field.field.required %} <span class="optional">{% translate "(optional)" %}</span>{% endif %}</label>
    {{ field }}
  {% endif %}
  {% if field.help_text %}<p class="help" id="{{ auto_id }}-help">{{ field.help_text }}</p>{% endif %}
  {# The error slot is partials/field_error.html's markup, inlined (an include per field cost more than the field). #}
  <div class="field-error-slot" id="{{ auto_id }}-error-slot">{% if errors %}<p class="field-error" id="{{ auto_id }}-error">{% for e in errors %}{{ e }}{% if not forloop.last %} {% endif %}{% endfor %}</p>{% endif %}</div>
</div>
{% endwith %}
"""


def _render(source: str, form, name: str, *, autoescape: bool = True) -> str:
    if not autoescape:
        source = "{% autoescape off %}" + source + "{% endautoescape %}"
    return engines["django"].from_string(source).render({"field": form[name]}, RequestFactory().get("/"))


def _forms():
    made = portal_forms()
    made.append(
        NotificationPreferenceForm(instance=NotificationPreference(email_enabled=True, email="a@b.example"))
    )
    made.append(
        NotificationPreferenceForm(
            {"email_enabled": "on", "email": "not an address"}, instance=NotificationPreference()
        )
    )
    for form in made:
        form.is_valid()
    return made


def _compare_for_every_field(template: str, expected_template: str) -> int:
    """Render both templates for every field of the portal's forms, with and without autoescape; assert
    they are equal; return how many were compared."""
    checked = 0
    for form in _forms():
        for name in form.fields:
            for autoescape in (True, False):
                expected = _render(expected_template, form, name, autoescape=autoescape)
                assert _render(template, form, name, autoescape=autoescape) == expected, (
                    type(form).__name__,
                    name,
                )
                checked += 1
    return checked


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_each_field_is_what_the_template_wrote(language):
    partial = engines["django"].engine.get_template("partials/field.html").source
    assert "field_row" in partial
    with override(language):
        assert _compare_for_every_field(partial, REFERENCE) > 50


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_field_tag_writes_what_including_the_partial_writes(language):
    """``{% field f %}`` stands for ``{% include "partials/field.html" with field=f %}`` in the pages."""
    include = '{% include "partials/field.html" with field=field %}'
    tag = "{% load portal_fields %}{% field field %}"
    with override(language):
        assert _compare_for_every_field(tag, include) > 50


def test_no_page_includes_the_field_partial_any_more():
    """Every page writes its fields with ``{% field %}`` (an include cost more than the field)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pages = [*(root / "templates").rglob("*.html"), *(root / "portal").glob("**/templates/**/*.html")]
    assert len(pages) > 40
    including = [p.name for p in pages if 'include "partials/field.html"' in p.read_text()]
    assert including == []
