# ruff: noqa: F811  (acme and hdp_log are pytest fixtures imported from tests/helpers/wizard.py)
""" "Ask the account owner" on the wizard's Connect step (issue 19), through the real views with the HDP
emulator in-process: the link page, the e-mail, My setups' waiting line, the polled state, revoke, and
the link ended by an app edit and by cancelling the setup. Self-contained (fixtures from tests/helpers)."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.oauth.models import HandoffLink
from tests.helpers.wizard import acme, create_app, hdp_log, start_run  # noqa: F401 (pytest fixtures)


def _ready(client):
    run = start_run(client)
    assert create_app(client, run).status_code == 303
    return run


def _ask(client, run, **fields: str) -> str:
    data = {"handoff-hours": "72", **{f"handoff-{k}": v for k, v in fields.items()}}
    page = client.post(reverse("onboarding:authorize-handoff", args=[run.pk]), data)
    assert page.status_code == 200, page.content[:500]
    return re.search(r'id="handoff-url" type="text" readonly value="([^"]+)"', page.content.decode()).group(1)


def test_the_connect_step_makes_a_link_e_mails_it_and_shows_its_state(acme, hdp_log):
    run = _ready(acme)
    step = acme.get(reverse("onboarding:step-authorize", args=[run.pk])).content.decode()
    assert "Ask the account owner" in step and 'name="handoff-email"' in step
    hdp_log.clear()
    url = _ask(acme, run, email="owner@acme.example", note="GA property 123, please")
    assert hdp_log == []  # a typed (created) application: nothing read from HDP
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (
        message.to == ["owner@acme.example"]
        and url in message.body
        and "GA property 123, please" in message.body
    )
    created = AuditEntry.objects.get(action="handoff.created")
    assert created.detail["sent_to"] == "owner@acme.example" and url.rsplit("/", 2)[-2] not in str(
        created.detail
    )

    step = acme.get(reverse("onboarding:step-authorize", args=[run.pk])).content.decode()
    assert "Waiting for owner@acme.example to sign in" in step and 'hx-trigger="every 5s"' in step
    assert url not in step
    runs = acme.get(reverse("onboarding:runs")).content.decode()
    assert "Waiting for owner@acme.example to sign in (link valid until" in runs

    state_url = reverse("onboarding:authorize-handoff-state", args=[run.pk])
    assert acme.get(state_url)["Location"] == reverse("onboarding:step-authorize", args=[run.pk])  # no htmx
    link = HandoffLink.objects.get()
    revoke = acme.post(reverse("onboarding:authorize-handoff-revoke", args=[run.pk]), {"link": str(link.pk)})
    assert revoke.status_code == 303
    fragment = acme.get(state_url + "?was=waiting", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true" and "Revoked at" in fragment.content.decode()
    assert Client().get(url).status_code == 410


def test_the_e_mail_is_in_the_admins_language(acme, hdp_log):
    run = _ready(acme)
    acme.cookies["django_language"] = "de"
    _ask(acme, run, email="owner@acme.example")
    assert "bittet" in mail.outbox[0].subject  # German: "... bittet ..., sich ... anzumelden"


def test_editing_the_app_or_cancelling_the_setup_ends_the_link(acme, hdp_log):
    run = _ready(acme)
    url = _ask(acme, run)
    edited = acme.post(reverse("onboarding:step-app", args=[run.pk]), {
        "action": "edit", "name": run.app_name, "client_id": "sandbox-portal-client", "client_secret": "",
        "authorize_uri": "http://127.0.0.1:8000/sandbox/oauth/authorize/",
        "token_uri": "http://127.0.0.1:8000/sandbox/oauth/token/", "scope": "read", "description": "",
    })  # fmt: skip
    assert edited.status_code == 303
    link = HandoffLink.objects.get()
    assert (link.state, link.end_reason) == ("revoked", "the application was edited")
    assert Client().get(url).status_code == 410

    _ask(acme, run)
    assert acme.post(reverse("onboarding:cancel", args=[run.pk])).status_code == 303
    newest = HandoffLink.objects.latest("created_at")
    assert (newest.state, newest.end_reason) == ("revoked", "the setup was cancelled")


def test_my_setups_shows_a_waiting_line_only_for_an_unexpired_waiting_link_of_its_own(acme, hdp_log):
    from datetime import timedelta

    from django.utils import timezone

    run = _ready(acme)
    _ask(acme, run, email="owner@acme.example")
    link = HandoffLink.objects.get(run=run)
    waiting = "Waiting for owner@acme.example to sign in"
    assert waiting in acme.get(reverse("onboarding:runs")).content.decode()
    HandoffLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert waiting not in acme.get(reverse("onboarding:runs")).content.decode()  # its time is up
    HandoffLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() + timedelta(hours=1), state="revoked"
    )
    assert waiting not in acme.get(reverse("onboarding:runs")).content.decode()
    HandoffLink.objects.filter(pk=link.pk).update(state="waiting", purpose="reconnect")
    assert waiting not in acme.get(reverse("onboarding:runs")).content.decode()  # not a first consent
    HandoffLink.objects.filter(pk=link.pk).update(purpose="consent")
    assert waiting in acme.get(reverse("onboarding:runs")).content.decode()
