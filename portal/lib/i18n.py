"""``{% load i18n %}``: Django's i18n template library, with ``{% translate "literal" %}`` rendered directly.

A page shows 30 to 60 ``{% translate %}`` tags. Django renders each through a lazy translation
proxy, the template variable machinery and ``render_value_in_context`` (about 70 Python calls,
0.02 ms) although a quoted literal needs one ``gettext``. For a quoted literal without a context,
``noop`` or filters, :class:`TranslateNode` asks ``gettext`` itself and gives the same result as
Django's node: the literal is marked safe (a template's own text), so is its translation, nothing is
escaped, and percent signs are doubled for the lookup and restored after it, as Django does (the
catalogues hold template strings that way). Every other form falls back to Django's own rendering.

Registered under the name ``i18n`` in settings.TEMPLATES ``libraries``, so every template's
``{% load i18n %}`` gets it; every other tag and filter is Django's, unchanged. ``makemessages`` reads
template source, so extraction is unaffected. tests/lib/test_i18n.py compares both renderings.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, Token, Variable
from django.templatetags import i18n as django_i18n
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)


class TranslateNode(django_i18n.TranslateNode):
    """Django's node; a quoted literal without context, noop or filters is translated directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        var = self.filter_expression.var
        literal = var.literal if isinstance(var, Variable) else None
        simple = not (self.noop or self.message_context or self.filter_expression.filters)
        #: The catalogue's msgid (percent signs doubled, marked safe as Django's lookup has it), or None.
        self.msgid: SafeString | None = (
            mark_safe(literal.replace("%", "%%"))  # noqa: S308 - the template's own text, as Django marks it
            if simple and isinstance(literal, SafeData)
            else None
        )

    def render(self, context: template.Context) -> str:
        if self.msgid is None:
            return str(super().render(context))
        # A translation of the template's own text is safe, as in Django's node (gettext keeps it so).
        value = mark_safe(gettext(self.msgid).replace("%%", "%"))  # noqa: S308
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


def do_translate(parser: Parser, token: Token) -> TranslateNode:
    node = django_i18n.do_translate(parser, token)
    return TranslateNode(node.filter_expression, node.noop, node.asvar, node.message_context)


register.tag("translate", do_translate)
register.tag("trans", do_translate)
