"""``get_<field>_display()`` without translating every label of the field on each call.

Django's ``Model._get_FIELD_display`` builds ``dict(make_hashable(field.flatchoices))`` on every
call, and hashing a ``(value, label)`` pair hashes the lazy label, which translates it: one call on a
field with twelve choices runs twelve gettext lookups to show one label. Pages call it once or twice
per row (setup history, support tenant page, the check step). :class:`ChoiceDisplayMixin` looks the
value up in a per-field ``{value: label}`` map built once (labels stay lazy, so each call still shows
the label in the language active for the request) and returns exactly what Django's method returns.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@functools.cache
def _labels(field: models.Field[Any, Any]) -> dict[Any, Any]:
    """``{value: label}`` of ``field``'s choices (the labels untranslated, lazy)."""
    return {make_hashable(value): label for value, label in field.flatchoices}


class ChoiceDisplayMixin:
    """Mix into a model: its ``get_<field>_display()`` answer as Django's, with one lookup."""

    def _get_FIELD_display(self, field: models.Field[Any, Any]) -> str:
        value = getattr(self, field.attname)
        label = _labels(field).get(make_hashable(value), value)
        return force_str(label, strings_only=True)  # type: ignore[no-any-return]
