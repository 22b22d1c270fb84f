"""The sign-in lifetime question (issue 22 item 2): asked at the application step and on the setup page.

Only what the portal cannot know: the preset's rules (``portal.oauth.presets.LIFETIME_RULES``) with the
documented default preselected and a one-line source, and a number of days when the chosen rule asks.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.oauth import presets


def asks(preset: presets.Preset) -> bool:
    """Whether there is anything to ask for this preset (several rules, or a number of days)."""
    rules = [presets.LIFETIME_RULES[k] for k in preset.lifetime_rules]
    return bool(preset.lifetime_question) and (len(rules) > 1 or any(r.asks_days for r in rules))


def add_fields(form: forms.Form, preset: presets.Preset, rule: str = "", days: int | None = None) -> None:
    """Add ``signin_rule`` (radios) and ``signin_rule_days`` to ``form`` when the preset asks anything."""
    if not asks(preset):
        return
    offered = [presets.LIFETIME_RULES[k] for k in preset.lifetime_rules]
    chosen = rule if rule in preset.lifetime_rules else offered[0].key
    form.fields["signin_rule"] = forms.ChoiceField(
        label=preset.lifetime_question,
        choices=[(r.key, r.label) for r in offered],
        initial=chosen,
        required=False,  # not sent = the preset's default
        widget=forms.RadioSelect,
        help_text=preset.lifetime_source,
    )
    form.initial["signin_rule"] = chosen  # the setup's rule, else the documented default, preselected
    with_days = [r for r in offered if r.asks_days]
    if with_days:
        default = days if days is not None else presets.LIFETIME_RULES[chosen].days or with_days[0].days
        form.initial["signin_rule_days"] = default
        form.fields["signin_rule_days"] = forms.IntegerField(
            label=_l("Number of days (for a rule with a number of days)"),
            required=False,
            initial=default,
            # The range is the chosen rule's (clean() says it in words); the browser gets the widest.
            widget=forms.NumberInput(attrs={"min": 1, "max": max(r.max_days for r in with_days)}),
            error_messages={"invalid": _l("Enter a whole number of days, such as 30.")},
        )
        days_id = form["signin_rule_days"].auto_id
        form.fields["signin_rule_days"].widget.attrs["aria-describedby"] = f"{days_id}-error"


def clean(form: forms.Form, preset: presets.Preset, data: dict[str, Any]) -> None:
    """Check the rule's number of days against the provider's range; errors go next to the field."""
    if "signin_rule" not in form.fields:
        return
    key = data.get("signin_rule") or preset.lifetime_rules[0]
    rule = presets.LIFETIME_RULES[key]
    days = data.get("signin_rule_days")
    if not rule.asks_days or "signin_rule_days" in form.errors:
        return
    if days is None:
        # Not sent at all (a form without the question, a script): the rule's documented default.
        if form.add_prefix("signin_rule_days") in form.data:
            form.add_error("signin_rule_days", _("Enter the number of days this rule counts."))
    elif not rule.min_days <= days <= rule.max_days:
        form.add_error(
            "signin_rule_days",
            _("%(rule)s: enter between %(low)d and %(high)d days.")
            % {"rule": rule.label, "low": rule.min_days, "high": rule.max_days},
        )


def chosen(form: forms.Form, preset: presets.Preset) -> tuple[str, int | None]:
    """(rule key, days) from a valid form; ("", None) when nothing was asked (the preset's default)."""
    if "signin_rule" not in form.fields:
        return "", None
    key = form.cleaned_data.get("signin_rule") or preset.lifetime_rules[0]
    rule = presets.LIFETIME_RULES[key]
    return key, form.cleaned_data.get("signin_rule_days") if rule.asks_days else None
