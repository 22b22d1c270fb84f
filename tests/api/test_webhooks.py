"""The health webhook in the Standard Webhooks format, as the OpenAPI document's webhooks describe it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.connections import notify
from portal.connections.models import ConnectionCheck, Notification, WebhookDelivery
from portal.connections.status import State
from tests.helpers.api import make_setup

pytestmark = pytest.mark.django_db

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _delivery(acme) -> WebhookDelivery:
    run = make_setup(acme, state=State.WORKING)
    check = ConnectionCheck.objects.get(run=run)
    note = Notification.objects.create(
        run=run,
        found_by=check,
        kind=Notification.Kind.BROKE,
        previous_state=State.WORKING,
        state=State.NEEDS_RECONNECT,
        cause="refresh_refused",
        created_at=timezone.now(),
        email_status=Notification.Email.OPTED_OUT,
    )
    return WebhookDelivery.objects.create(notification=note, host="example.com", created_at=note.created_at)


def test_a_body_verifies_with_the_library_and_matches_the_published_schema(client, acme):
    delivery = _delivery(acme)
    body = json.dumps(notify.payload(delivery.notification)).encode()
    headers = notify.signed_headers(WHSEC, notify.message_id(delivery), timezone.now(), body)
    assert headers["webhook-signature"].startswith("v1,")
    verified = Webhook(WHSEC).verify(body, headers)
    assert verified["type"] == "connection.broke" and verified["data"]["status"] == "needs_reconnect"
    schema = client.get("/api/v1/openapi.json").json()
    assert set(schema["webhooks"]) == {
        "connection.broke",
        "connection.recovered",
        "connection.expiring",
        "handoff.completed",
        "handoff.refused",
    }
    ref = schema["webhooks"]["connection.broke"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    # The $ref resolves inside this document, which carries the OpenAPI document's components.
    jsonschema.Draft202012Validator({**ref, "components": schema["components"]}).validate(verified)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator({**ref, "components": schema["components"]}).validate(
            {**verified, "type": "connection.unknown"}
        )


def test_a_raw_secret_of_the_old_format_is_the_key_itself(acme):
    delivery = _delivery(acme)
    body = json.dumps(notify.payload(delivery.notification)).encode()
    headers = notify.signed_headers("old-raw-secret", notify.message_id(delivery), timezone.now(), body)
    converted = "whsec_" + base64.b64encode(b"old-raw-secret").decode()
    assert Webhook(converted).verify(body, headers)["type"] == "connection.broke"
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body, headers)


def test_a_retry_keeps_its_webhook_id_and_a_stale_timestamp_is_refused(acme):
    delivery = _delivery(acme)
    body = json.dumps(notify.payload(delivery.notification)).encode()
    first = notify.signed_headers(WHSEC, notify.message_id(delivery), timezone.now(), body)
    later = notify.signed_headers(WHSEC, notify.message_id(delivery), timezone.now(), body)
    assert first["webhook-id"] == later["webhook-id"]
    old = notify.signed_headers(WHSEC, notify.message_id(delivery), timezone.now() - timedelta(hours=1), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body, old)


def test_an_expiring_warning_validates_against_the_published_schema(db, django_user_model):
    """Issue 22: the connection.expiring body (no check found it) fits the same schema."""
    from django.utils import timezone

    from portal.api.webhooks import ConnectionEvent
    from portal.connections import notify
    from portal.connections.models import Notification
    from portal.onboarding.models import Run

    owner = django_user_model.objects.create(username="acme_admin", hdp_tenant_id=71)
    now = timezone.now()
    run = Run.objects.create(
        owner=owner,
        tenant_id=71,
        tenant_name="Acme",
        preset="snowflake",
        status=Run.Status.COMPLETED,
        completed_at=now,
        consented_at=now,
        signin_facts={"refresh_token_expires_in": 86400, "at": now.isoformat()},
    )
    note = Notification.objects.create(
        run=run,
        kind="expiring",
        key="k",
        expected_end=now,
        state="working",
        created_at=now,
        email_status="sent",
    )
    event = ConnectionEvent.model_validate(notify.payload(note))
    assert event.type == "connection.expiring" and event.data.checked_at is None
    assert event.data.basis and event.data.reconnect_url


@pytest.mark.parametrize("outcome", ["used", "refused"])
def test_a_handoff_event_verifies_and_matches_the_published_schema(client, acme, outcome):
    """Issue 19's events (portal/connections/handoff.py ``payload``), listed like the connection events."""
    from portal.connections import handoff as connections_handoff
    from portal.oauth.models import HandoffLink

    run = make_setup(acme)
    link = HandoffLink.objects.create(
        token_hash="0" * 64,
        run=run,
        tenant_id=run.tenant_id,
        purpose="reconnect",
        created_by=acme,
        expires_at=timezone.now() + timedelta(hours=1),
        state=outcome,
        ended_at=timezone.now(),
        end_reason="denied at the provider" if outcome == "refused" else "",
        used_by="Ada Lovelace" if outcome == "used" else "",
        start={},
        shown={},
    )
    event = connections_handoff.payload(link, outcome)
    body = json.dumps(event).encode()
    headers = notify.signed_headers(WHSEC, "msg_handoff", timezone.now(), body)
    verified = Webhook(WHSEC).verify(body, headers)
    schema = client.get("/api/v1/openapi.json").json()
    name = connections_handoff.EVENTS[outcome]
    assert verified["type"] == name
    ref = schema["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/HandoffEvent"}
    validator = jsonschema.Draft202012Validator({**ref, "components": schema["components"]})
    validator.validate(verified)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**verified, "type": "connection.broke"})
