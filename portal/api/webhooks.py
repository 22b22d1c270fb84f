"""The webhook events in the OpenAPI document's ``webhooks`` section (OpenAPI 3.1).

The bodies are made by :func:`portal.connections.notify.payload` (connection events) and
:func:`portal.connections.handoff.payload` (handoff events) and signed per Standard Webhooks
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``); these models describe them.
tests/api/test_webhooks.py checks that a delivered body validates against this schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from portal.connections.handoff import EVENTS as HANDOFF_EVENTS
from portal.connections.notify import EVENT_TYPES


class WebhookTenant(BaseModel):
    id: int
    name: str


class WebhookSetup(BaseModel):
    id: str
    data_source: str
    data_store: str
    oauth_application: str
    oauth_profile: str
    url: str = Field(description="The portal page where the owner fixes the setup.")


EventType = Literal["connection.broke", "connection.recovered", "connection.expiring"]


class ConnectionEventData(BaseModel):
    event: EventType = Field(description="The same as `type`.")
    tenant: WebhookTenant
    setup: WebhookSetup
    status: str = Field(description="The new status (needs_reconnect, broken or working).")
    previous_status: str | None
    cause: str | None
    cause_text: str | None
    checked_at: str | None = Field(
        description="ISO 8601: when the check that found it finished (null for connection.expiring)."
    )
    notified_at: str | None
    expected_end: str | None = Field(
        None, description="connection.expiring: ISO 8601, when the sign-in is expected to lapse."
    )
    basis: list[str] | None = Field(None, description="connection.expiring: why that date, in sentences.")
    reconnect_url: str | None = Field(None, description="connection.expiring: the link that reconnects.")
    foreseen_lapse_at: str | None = Field(
        None, description="connection.broke after a foreseen lapse: ISO 8601, the expected end that passed."
    )


class ConnectionEvent(BaseModel):
    """A Standard Webhooks body."""

    type: EventType
    timestamp: str | None = Field(description="ISO 8601: when the change was recorded.")
    data: ConnectionEventData


HandoffEventType = Literal["handoff.completed", "handoff.refused"]


class HandoffSetup(BaseModel):
    id: str
    data_source: str | None
    data_store: str
    oauth_application: str
    url: str = Field(description="The portal page of the setup.")


class HandoffEventData(BaseModel):
    tenant: WebhookTenant
    setup: HandoffSetup
    purpose: str = Field(description="What the link asked for: consent, reconnect or repair.")
    created_by: str = Field(description="The HDP user name of the admin who made the link.")
    account: str | None = Field(description="handoff.completed: the provider account that signed in.")
    reason: str | None = Field(description="handoff.refused: why, in words (nothing was changed).")
    at: str = Field(description="ISO 8601: when the owner used or refused the link.")


class HandoffEvent(BaseModel):
    """A Standard Webhooks body (never the link, a token or a client id)."""

    type: HandoffEventType
    timestamp: str = Field(description="ISO 8601: the same as data.at.")
    data: HandoffEventData


_MODELS = (
    WebhookTenant,
    WebhookSetup,
    ConnectionEventData,
    ConnectionEvent,
    HandoffSetup,
    HandoffEventData,
    HandoffEvent,
)
_REF = "#/components/schemas/{model}"

_DESCRIPTIONS = {
    "connection.broke": "A setup's connection stopped working (needs a reconnect, or broken).",
    "connection.recovered": "A setup's connection works again.",
    "connection.expiring": "A setup's sign-in at the provider is expected to lapse soon (issue 22).",
    "handoff.completed": "The account owner signed in through a handoff link (issue 19).",
    "handoff.refused": "A handoff link ended without a sign-in: the owner said no, the provider answered "
    "an error, or another provider account signed in (issue 19).",
}

_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("webhook-id", "The message id, the same for every retry of one delivery."),
        ("webhook-timestamp", "Unix seconds when this attempt was signed."),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body> (Standard Webhooks)."),
    )
]


def component_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template=_REF)
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    return schemas


def _body(event: str) -> str:
    return "HandoffEvent" if event in HANDOFF_EVENTS.values() else "ConnectionEvent"


def openapi_webhooks() -> dict[str, Any]:
    return {
        event: {
            "post": {
                "summary": event,
                "description": _DESCRIPTIONS[event],
                "operationId": "webhook_" + event.replace(".", "_"),
                "parameters": _HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": _REF.format(model=_body(event))}}},
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried."}},
            }
        }
        for event in (*EVENT_TYPES, *HANDOFF_EVENTS.values())
    }
