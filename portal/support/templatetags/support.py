"""``{% load support %}{% if user|is_support_staff %}…{% endif %}`` for the header link."""

from __future__ import annotations

from typing import Any

from django import template

from portal.support import access

register = template.Library()


@register.filter
def is_support_staff(user: Any) -> bool:
    return access.is_support_staff(user)
