"""POST /api/v1/setups/{id}/handoff-links and DELETE /api/v1/handoff-links/{id} (issues 19 and 21): the
setup page's "Ask the account owner" over the API, with its rules; the link is shown once, only its
hash is kept (also by Idempotency-Key replays), and a revoked link is refused on the owner's page."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from portal.api.models import IdempotentRequest
from portal.audit.models import AuditEntry
from portal.hdp.client import HdpClient
from portal.oauth import handoff
from portal.oauth.models import HandoffLink
from portal.onboarding.models import Run
from portal.sandbox.hdp.emulator import mock_transport
from tests.helpers.api import make_setup, make_token
from tests.helpers.completed_setup import completed_setup
from tests.helpers.sandbox import PASSWORDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(acme) -> Run:
    """A completed setup of acme_admin whose application and profile exist in the emulator and whose
    provider account was recorded at its first consent (what a reconnect link is bound to)."""
    hdp = HdpClient(
        "http://hdp",
        "portal_svc",
        PASSWORDS["portal_svc"],
        on_behalf_of="acme_admin",
        transport=mock_transport(),
    )
    return completed_setup(hdp, prefix="Acme_Api_Ho")


def post(client: Client, run: Run, token: str, body: dict[str, object], key: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        f"/api/v1/setups/{run.pk}/handoff-links", json.dumps(body), content_type="application/json", **headers
    )


def delete(client: Client, link_id: object, token: str):  # type: ignore[no-untyped-def]
    return client.delete(f"/api/v1/handoff-links/{link_id}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_link_is_answered_once_with_201_and_only_its_hash_is_stored(client, setup, acme, caplog):
    token = make_token(acme, "handoff:write")
    with caplog.at_level(logging.DEBUG):
        answer = post(
            client, setup, token, {"purpose": "reconnect", "note": "  please\n sign in ", "hours": 24}
        )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    link = HandoffLink.objects.get()
    secret = urlsplit(body["link"]).path.rstrip("/").rsplit("/", 1)[1]
    assert handoff.TOKEN_SHAPE.match(secret)
    assert link.token_hash == handoff.hash_token(secret) and secret not in link.token_hash
    assert (body["id"], body["setup_id"], body["purpose"], body["state"]) == (
        str(link.pk),
        str(setup.pk),
        "reconnect",
        "waiting",
    )
    assert body["replay_note"] is None and body["email"] is None
    assert (link.note, link.created_by.username) == ("please sign in", "acme_admin")
    assert 23.9 < (link.expires_at - link.created_at).total_seconds() / 3600 <= 24
    # The page's own audit line, and the link nowhere but in that one answer.
    assert AuditEntry.objects.filter(action="handoff.created", actor="acme_admin").count() == 1
    stored = json.dumps(list(AuditEntry.objects.values()), default=str) + json.dumps(
        list(HandoffLink.objects.values()), default=str
    )
    assert secret not in stored and secret not in caplog.text


def test_an_idempotent_retry_makes_one_link_and_the_replay_leaves_the_link_out(client, setup, acme):
    token = make_token(acme, "handoff:write")
    request = {"purpose": "reconnect", "email": "owner@acme.example"}
    first = post(client, setup, token, request, key="ask-1")
    again = post(client, setup, token, request, key="ask-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert HandoffLink.objects.count() == 1 and len(mail.outbox) == 1
    secret = urlsplit(first.json()["link"]).path.rstrip("/").rsplit("/", 1)[1]
    assert first.json()["link"] in mail.outbox[0].body
    replay = again.json()
    assert replay["link"] is None and "only in the first answer" in replay["replay_note"]
    assert {k: v for k, v in replay.items() if k not in ("link", "replay_note")} == {
        k: v for k, v in first.json().items() if k not in ("link", "replay_note")
    }
    [kept] = IdempotentRequest.objects.all()
    assert secret not in kept.body and '"link": null' in kept.body
    other = post(client, setup, token, {"purpose": "reconnect"}, key="ask-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_token_without_handoff_write_is_403_and_makes_nothing(client, setup, acme):
    token = make_token(acme, "setups:read", "setups:check")
    answer = post(client, setup, token, {"purpose": "reconnect"})
    assert answer.status_code == 403 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "insufficient_scope" and "handoff:write" in answer.json()["detail"]
    assert not HandoffLink.objects.exists()


def test_another_tenants_setup_is_404_and_makes_nothing(client, setup, globex):
    token = make_token(globex, "handoff:write")
    answer = post(client, setup, token, {"purpose": "reconnect"})
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert not HandoffLink.objects.exists()


def test_the_pages_rules_and_words_refuse_with_409(client, setup, acme):
    token = make_token(acme, "handoff:write")
    # No provider account recorded: the link could not bind the sign-in to it.
    unbound = make_setup(acme, name="acme_unbound")
    answer = post(client, unbound, token, {"purpose": "reconnect"})
    assert answer.status_code == 409 and answer.json()["detail"].startswith(
        "The provider did not say which account this setup was connected with"
    )
    # A repair while the profile exists: the setup cannot take that sign-in.
    answer = post(client, setup, token, {"purpose": "repair"})
    assert answer.status_code == 409
    assert answer.json()["detail"] == "This setup cannot take that sign-in now, so no link was made."
    assert not HandoffLink.objects.exists()


def test_bad_bodies_are_422_with_the_field_named(client, setup, acme):
    token = make_token(acme, "handoff:write")
    for body, field in (
        ({"purpose": "consent"}, "purpose"),
        ({"purpose": "reconnect", "hours": 169}, "hours"),
        ({"purpose": "reconnect", "email": "not an address"}, "email"),
        ({"purpose": "reconnect", "link": "x"}, "link"),
    ):
        answer = post(client, setup, token, body)
        assert answer.status_code == 422, (body, answer.content)
        assert any(e["field"].endswith(field) for e in answer.json()["errors"]), answer.json()
    assert not HandoffLink.objects.exists()


def test_a_newer_link_revokes_the_older_one(client, setup, acme):
    token = make_token(acme, "handoff:write")
    first = post(client, setup, token, {"purpose": "reconnect"}).json()
    second = post(client, setup, token, {"purpose": "reconnect"}).json()
    assert HandoffLink.objects.get(pk=first["id"]).state == "revoked"
    assert HandoffLink.objects.get(pk=second["id"]).state == "waiting"


def test_revoke_answers_204_and_the_owners_page_refuses_the_link(client, setup, acme, globex):
    token = make_token(acme, "handoff:write")
    made = post(client, setup, token, {"purpose": "reconnect"}).json()
    path = urlsplit(made["link"]).path
    assert Client().get(path).status_code == 200
    assert delete(client, made["id"], make_token(globex, "handoff:write")).status_code == 404
    assert delete(client, made["id"], make_token(acme, "setups:read")).status_code == 403
    assert HandoffLink.objects.get(pk=made["id"]).state == "waiting"
    answer = delete(client, made["id"], token)
    assert answer.status_code == 204 and answer.content == b""
    link = HandoffLink.objects.get(pk=made["id"])
    assert (link.state, link.ended_by, link.end_reason) == ("revoked", "acme_admin", "revoked by the admin")
    assert Client().get(path).status_code == 410
    assert delete(client, made["id"], token).status_code == 204  # already revoked: the same answer


def test_a_used_link_cannot_be_revoked(client, setup, acme):
    token = make_token(acme, "handoff:write")
    made = post(client, setup, token, {"purpose": "reconnect"}).json()
    assert handoff.spend(made["id"], used_by="Sandbox Person")
    answer = delete(client, made["id"], token)
    assert answer.status_code == 409 and answer.json()["detail"].startswith("Used by Sandbox Person")


def test_deleting_an_unknown_link_is_404(client, acme):
    token = make_token(acme, "handoff:write")
    answer = delete(client, "9b2f0c4e-1111-4222-8333-444455556666", token)
    assert answer.status_code == 404 and answer["Content-Type"] == "application/problem+json"
