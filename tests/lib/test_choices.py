"""portal.lib.choices: get_<field>_display() answers as Django's own, in every language."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils.translation import override

from portal.connections.models import ConnectionCheck, Repair
from portal.lib.choices import ChoiceDisplayMixin
from portal.onboarding.models import RemoteObject, Run

MODELS = [Run, RemoteObject, ConnectionCheck, Repair]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_display_is_djangos(model, language):
    assert issubclass(model, ChoiceDisplayMixin)
    fields = [f for f in model._meta.concrete_fields if f.choices]
    assert fields
    with override(language):
        for field in fields:
            for value in [v for v, _label in field.flatchoices] + ["", "not-a-choice", None]:
                obj = model(**{field.attname: value})
                ours = getattr(obj, f"get_{field.name}_display")()
                assert ours == models.Model._get_FIELD_display(obj, field), (field.name, value)
                assert type(ours) is type(models.Model._get_FIELD_display(obj, field))


def test_the_label_follows_the_active_language():
    obj = RemoteObject(kind=RemoteObject.Kind.DATASOURCE)
    with override("en"):
        english = obj.get_kind_display()
    with override("de"):
        german = obj.get_kind_display()
    assert english != german
