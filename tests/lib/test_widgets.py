"""portal.lib.widgets: the form renderer writes the simple widgets in Python, with exactly the markup
of Django's widget templates (settings.FORM_RENDERER)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from portal.lib.widgets import PortalFormRenderer
from tests.helpers.forms import portal_forms

TEMPLATES = DjangoTemplates()
FAST = PortalFormRenderer()

WIDGETS = [
    forms.TextInput(),
    forms.PasswordInput(),
    forms.PasswordInput(render_value=True),
    forms.EmailInput(),
    forms.URLInput(),
    forms.NumberInput(),
    forms.HiddenInput(),
    forms.SearchInput(),
    forms.TelInput(),
    forms.ColorInput(),
    forms.DateInput(),
    forms.DateTimeInput(),
    forms.TimeInput(),
    forms.FileInput(),
    forms.CheckboxInput(),
    forms.Textarea(),
    forms.Textarea(attrs={"rows": 3}),
    forms.Select(choices=[("", "(HDP default)"), ("2", "OData 2"), (4, gettext_lazy("Description"))]),
    forms.Select(choices=[("a", 'A "quoted" & <b>'), ("b", mark_safe("<b>B</b>")), (None, "none")]),
    forms.Select(
        choices=[("Group", [("x", "X"), ("y", "Y")]), ("z", "Z"), (gettext_lazy("Name"), [(1, "one")])]
    ),
    forms.Select(choices=[(1, 1), (2, 2.5)]),  # labels the template language would localize
    forms.Select(choices=[]),
    forms.SelectMultiple(choices=[("a", "A"), ("b", "B")]),
    forms.NullBooleanSelect(),
    forms.TextInput(attrs={"data-x": lambda: "called by the template"}),
]
VALUES: list[Any] = [
    None,
    "",
    "plain",
    "quotes \" and ' & <b>tags</b>",
    mark_safe("<b>already safe</b>"),
    0,
    42,
    True,
    False,
    gettext_lazy("Description"),
    "  spaced  \n lines ",
    ["a", 2],
    "2",
    4,
    lambda: "called",
]
ATTRS: list[dict[str, Any] | None] = [
    None,
    {},
    {"required": True, "disabled": False, "maxlength": 4000, "rows": 0},
    {"placeholder": 'a "quoted" <value> & more', "aria-describedby": "id_x-help id_x-error"},
    {"hx-vals": '{"a": 1}', "data-x": mark_safe("<i>safe</i>"), "title": gettext_lazy("Description")},
    {"value": None, "autofocus": True, "spellcheck": "false", "id": "id_name"},
    {"multiple": True, "size": 3.5, "data-list": ["a", "b"]},
]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
def test_each_simple_widget_is_what_the_templates_give(widget):
    for value in VALUES:
        for attrs in ATTRS:
            try:
                expected = widget.render("field", value, attrs=attrs, renderer=TEMPLATES)
            except (TypeError, KeyError) as exc:  # a value the widget itself refuses (NullBooleanSelect)
                with pytest.raises(type(exc)):
                    widget.render("field", value, attrs=attrs, renderer=FAST)
                continue
            assert widget.render("field", value, attrs=attrs, renderer=FAST) == expected, (value, attrs)


def test_other_widgets_still_go_through_the_templates():
    radios = forms.RadioSelect(choices=[("a", "A"), ("b", "B")])
    checkboxes = forms.CheckboxSelectMultiple(choices=[("a", "A"), ("b", "B")])
    for widget in (radios, checkboxes):
        assert widget.render("f", "a", renderer=FAST) == widget.render("f", "a", renderer=TEMPLATES)


def _choices(form: forms.Form, name: str, renderer: Any) -> list[tuple[str, str]]:
    """Each choice of ``form[name]`` by itself and with its label, through ``renderer`` (a new bound
    field: a form keeps its bound fields, and their choices, with the renderer they were made with)."""
    form.renderer = renderer
    bound = forms.BoundField(form, form.fields[name], name)
    choices = list(bound)
    assert all(choice.renderer is renderer for choice in choices)
    return [(choice.tag(), str(choice)) for choice in choices]


@pytest.mark.parametrize(
    "widget",
    [
        forms.RadioSelect(choices=[("a", "A"), ("b", 'B "q" <b>'), (3, gettext_lazy("Description"))]),
        forms.CheckboxSelectMultiple(choices=[("a", "A"), ("b", mark_safe("<b>B</b>")), (None, "none")]),
    ],
    ids=lambda w: type(w).__name__,
)
def test_each_choice_shown_by_itself_is_what_the_templates_give(widget):
    """``{{ radio.tag }}`` (the label beside it, not around it) and ``{{ radio }}`` (the label around it)."""
    for value in ["a", ["a", "b"], 3, None, ""]:
        for attrs in ATTRS:
            shown = copy.deepcopy(widget)
            shown.attrs.update(attrs or {})
            field = forms.Field(widget=shown, required=False)
            form = forms.Form(initial={"f": value})
            form.fields["f"] = field
            expected = _choices(form, "f", TEMPLATES)
            assert _choices(form, "f", FAST) == expected, (value, attrs)


def test_a_choice_shown_by_itself_is_written_without_the_templates(monkeypatch):
    def no_templates(*args, **kwargs):
        raise AssertionError("went through the widget templates")

    form = forms.Form()
    form.fields["f"] = forms.ChoiceField(widget=forms.RadioSelect, choices=[("a", "A"), ("b", "B")])
    form.renderer = FAST
    monkeypatch.setattr(DjangoTemplates, "render", no_templates)
    assert [choice.tag() for choice in form["f"]] == [
        '<input type="radio" name="f" value="a" id="id_f_0" required>',
        '<input type="radio" name="f" value="b" id="id_f_1" required>',
    ]


def test_every_choice_of_the_portal_forms_renders_the_same():
    shown = 0
    for form in portal_forms():
        for name, field in form.fields.items():
            if not isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            expected = _choices(form, name, TEMPLATES)
            assert _choices(form, name, FAST) == expected, (type(form).__name__, name)
            shown += len(expected)
    assert shown  # the lifetime and token-auth questions are among the portal's forms


def test_the_portal_renders_its_forms_with_it():
    assert settings.FORM_RENDERER == "portal.lib.widgets.PortalFormRenderer"
    assert isinstance(get_default_renderer(), PortalFormRenderer)


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_every_field_of_the_portal_forms_renders_the_same(language):
    with override(language):
        for form in portal_forms():
            for name in form.fields:
                form.renderer = TEMPLATES
                expected = str(form[name])
                form.renderer = FAST
                assert str(form[name]) == expected, (type(form).__name__, name)
