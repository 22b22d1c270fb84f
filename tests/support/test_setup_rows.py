"""``{% setup_rows %}`` (portal/support/templatetags/support.py) writes exactly what the tenant page's
table of setups wrote as template code (REFERENCE below, with its include of ``connections/_status.html``,
the partial itself), for every shown status, with and without a check time, recorded objects or none,
names that need escaping, in English, German and French, with and without autoescape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone
from django.utils.translation import override

from portal.accounts.models import User
from portal.connections.status import Cause, State, Status
from portal.onboarding.models import RemoteObject, Run

LABELS = (
    '{% load i18n support %}{% translate "Owner" as owner_label %}{% translate "Data store" as store_label %}'
    '{% translate "Status" as status_label %}{% translate "Connection" as connection_label %}'
    '{% translate "What the setup recorded" as recorded_label %}{% translate "Last update" as updated_label %}'
    '{% translate "id" as id_word %}'
)
#: templates/support/tenant.html's rows before the tag (the reference the tag must match byte for byte).
REFERENCE = (
    LABELS
    + """    {% for setup in setups %}{% with run=setup.run %}
      <tr>
        <td data-label="{{ owner_label }}">{{ run.owner.username }}</td>
        <td data-label="{{ store_label }}">{{ run.datastore_name|default:"—" }}</td>
        <td data-label="{{ status_label }}"><span class="status status-{{ run.status }}">{{ run.get_status_display }}</span></td>
        <td data-label="{{ connection_label }}">{% if setup.connection %}{% include "connections/_status.html" with status=setup.connection %}{% else %}—{% endif %}</td>
        <td data-label="{{ recorded_label }}"><ul class="recorded">{% for o in setup.objects %}<li>{{ o.get_kind_display }} <span class="hdp-name">{{ o.name }}</span> ({{ id_word }} {{ o.remote_id|default:"—" }}): {{ o.get_outcome_display }}</li>{% empty %}<li>{% translate "nothing yet" %}</li>{% endfor %}</ul></td>
        <td data-label="{{ updated_label }}"><time datetime="{{ run.updated_at|date:'c' }}">{{ run.updated_at|date:"DATETIME_FORMAT" }} UTC</time></td>
      </tr>
    {% endwith %}{% endfor %}
"""
)
TAG = LABELS + (
    "    {% setup_rows setups owner_label store_label status_label connection_label recorded_label "
    "updated_label id_word %}\n"
)


def _setups() -> list[dict[str, object]]:
    now = timezone.now()
    statuses: list[Status | None] = [None]
    for state in State:
        statuses += [Status(state, None), Status(state, now - timedelta(minutes=7), Cause.TEST_PASSED)]
    statuses.append(Status(State.STALE, now - timedelta(days=40, hours=3)))
    objects = [
        RemoteObject(kind="app", name="Acme_app", remote_id=12, outcome="created"),
        RemoteObject(kind="profile", name="<b>\"x\" & 'y'</b>", remote_id=None, outcome="pending"),
        RemoteObject(kind="datasource", name="ds", remote_id=0, outcome="reused"),
        RemoteObject(kind="datasource", name="big", remote_id=1234567, outcome="failed"),
    ]
    setups = []
    for i, status in enumerate(statuses):
        run = Run(
            owner=User(username=["acme_admin", "<ada & bob>"][i % 2]),
            status=list(Run.Status)[i % len(Run.Status)],
            datastore_name=["Google Analytics", "", "Snow <flake>"][i % 3],
            updated_at=now - timedelta(hours=i, minutes=i),
        )
        setups.append({"run": run, "connection": status, "objects": objects[: i % 5]})
    return setups


def _render(source: str, setups, *, autoescape: bool) -> str:
    if not autoescape:
        source = source.replace(LABELS, LABELS + "{% autoescape off %}") + "{% endautoescape %}"
    return engines["django"].from_string(source).render({"setups": setups}, RequestFactory().get("/"))


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_the_tag_writes_what_the_template_code_wrote(language, autoescape):
    setups = _setups()
    with override(language):
        expected = _render(REFERENCE, setups, autoescape=autoescape)
        written = _render(TAG, setups, autoescape=autoescape)
    assert written == expected
    assert expected.count("<tr>") == len(setups) > 15
    assert ("&lt;ada &amp; bob&gt;" in expected) is autoescape
    assert "Snow" in expected and "—" in expected


def test_no_setup_writes_nothing():
    assert _render(TAG, [], autoescape=True) == "    \n"
