"""What happens after the account owner used or refused a handoff link (issue 19), and the links of a
completed setup's Reconnect and Repair.

The link itself, its states and the owner's pages are :mod:`portal.oauth.handoff`; it sends
``handoff_finished`` and :func:`on_finished` (connected in ``ConnectionsConfig.ready``) goes on:

* a reconnect link: the held tokens go into the setup's profile exactly as when the admin reconnects
  (:func:`portal.connections.reconnect.finish`: the same PUT, then one check); a repair link: the open
  repair goes on (:func:`portal.connections.repair.finish`). If HDP does not answer, the tokens stay
  held (encrypted) and the setup's Reconnect / Repair page offers "Try again", as today;
* the admin gets one e-mail (a task: the link is not in it) and the deployment's webhook one event
  (``handoff.completed`` / ``handoff.refused``) through the health webhook's own delivery.

A first consent needs nothing more: the wizard continues at the profile step when the admin opens it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from portal.accounts.models import User
from portal.connections import checks, reconnect, repair
from portal.connections.models import WebhookDelivery
from portal.connections.notify import deliver_webhook, webhook_host
from portal.hdp.client import HdpClient
from portal.oauth import handoff, presets
from portal.oauth.models import HandoffLink
from portal.onboarding import engine
from portal.onboarding.models import Run

logger = logging.getLogger(__name__)

EVENTS = {"used": "handoff.completed", "refused": "handoff.refused"}
#: The purposes a completed setup's link can have (a first consent is asked from the wizard).
SETUP_PURPOSES = ("reconnect", "repair")


@dataclass(frozen=True)
class Made:
    """A new link: the row, its token (shown once, never stored) and why its e-mail failed ("" if not)."""

    link: HandoffLink
    token: str
    mail_problem: str


def _provider(run: Run, preset: presets.Preset) -> str:
    if preset.is_custom:
        return urlsplit(run.app_authorize_uri).hostname or _("the provider")
    return re.sub(r"\s*\(.*\)$", "", str(preset.label))


def ask_owner(
    run: Run,
    purpose: str,
    person: User,
    client: HdpClient,
    *,
    hours: int,
    email: str = "",
    note: str = "",
    language: str = "",
) -> Made:
    """ "Ask the account owner" for a completed setup of ``person`` (the setup page and the API alike):
    the link for ``purpose``, made under the same rules, e-mailed to ``email`` if one is given.

    Raises :class:`portal.oauth.handoff.LinkRefused` with the page's words when no link can be made."""
    if (
        purpose not in SETUP_PURPOSES
        or run.consent_purpose() != purpose
        or (purpose == "reconnect" and reconnect.refusal(run, checks.status_for(run)))
    ):
        raise handoff.LinkRefused(_("This setup cannot take that sign-in now, so no link was made."))
    if run.consent_identity() is None:
        # A reconnect or repair link is bound to the account of the first consent; without one
        # recorded, it could not refuse another account.
        raise handoff.LinkRefused(
            _(
                "The provider did not say which account this setup was connected with, so a link could not "
                "make sure the same account signs in. Sign in yourself instead."
            )
        )
    try:
        params = reconnect.flow_params(run, client)
    except reconnect.ReconnectRefused as exc:
        raise handoff.LinkRefused(str(exc)) from None
    preset = presets.get_preset(run.preset) or presets.PRESETS["custom"]
    shown = handoff.Shown(
        admin=person.get_full_name() or person.username,
        tenant=run.tenant_name,
        store=run.datastore_name,
        provider=_provider(run, preset),
        preset=preset.key,
        scope=params.scope,
    )
    link, token = handoff.create(
        run,
        purpose=purpose,
        created_by=person,
        start=params,
        shown=shown,
        hours=hours,
        email=email,
        note=note,
        language=language,
    )
    return Made(link, token, handoff.send_link_email(link, token))


def on_finished(sender: object, *, link: HandoffLink, outcome: str, **kwargs: Any) -> None:
    if outcome == "used" and link.purpose in ("reconnect", "repair"):
        go_on(link.run, link.purpose)
    tell(link, outcome)


def go_on(run: Run, purpose: str) -> str:
    """Put a reconnect's or repair's new sign-in into HDP now, as the setup's admin would; returns
    what happened in words for the log (never raises: the admin's pages offer "Try again")."""
    run.refresh_from_db()
    try:
        with HdpClient.for_user(run.owner) as client:
            if purpose == "reconnect":
                return reconnect.finish(run, client).message
            result = repair.finish(run, client)
            return result.message if result is not None else "no open repair"
    except engine.StepBusy:
        return "the admin's page is at it"
    except Exception:  # the owner's page must not fail for HDP's sake; the tokens stay held
        logger.exception("handoff continuation of setup %s failed", run.pk)
        return "failed"


def payload(link: HandoffLink, outcome: str) -> dict[str, Any]:
    """The webhook body, a Standard Webhooks event (``type``, ``timestamp``, ``data``, as the health events):
    what happened to which setup (never the link, a token or a client id)."""
    run = link.run
    at = (link.ended_at or timezone.now()).isoformat()
    data = {
        "tenant": {"id": run.tenant_id, "name": run.tenant_name},
        "setup": {
            "id": str(run.pk),
            "data_source": run.ds_name or None,
            "data_store": run.datastore_name,
            "oauth_application": run.app_name,
            "url": settings.PORTAL_BASE_URL + reverse("onboarding:resume", args=[run.pk]),
        },
        "purpose": link.purpose,
        "created_by": link.created_by.get_username(),
        "account": link.used_by or None,
        "reason": handoff.reason_words(link) if outcome == "refused" else None,
        "at": at,
    }
    return {"type": EVENTS[outcome], "timestamp": at, "data": data}


def tell(link: HandoffLink, outcome: str) -> None:
    """One e-mail to the admin who made the link, and one webhook event, both queued."""
    delivery = None
    if settings.HEALTH_WEBHOOK_URL:
        delivery = WebhookDelivery.objects.create(
            notification=None, event=payload(link, outcome), host=webhook_host(), created_at=timezone.now()
        )
    link_id, delivery_id = str(link.pk), delivery.pk if delivery else None
    transaction.on_commit(lambda: _enqueue(link_id, outcome, delivery_id))


def _enqueue(link_id: str, outcome: str, delivery_id: int | None) -> None:
    send_handoff_email.enqueue(link_id, outcome)
    if delivery_id is not None:
        deliver_webhook.enqueue(delivery_id)


def email_admin(link_id: str, outcome: str) -> str:
    link = HandoffLink.objects.select_related("run", "created_by").filter(pk=link_id).first()
    if link is None:
        return "gone"
    address = link.created_by.email
    if not address:
        return "no address"
    run = link.run
    context = {
        "link": link,
        "run": run,
        "used": outcome == "used",
        "line": "",
        "url": settings.PORTAL_BASE_URL + reverse("onboarding:resume", args=[run.pk]),
    }
    with translation.override(link.language or settings.LANGUAGE_CODE):
        context["line"] = handoff.state_line(link)
        subject = " ".join(render_to_string("connections/email/handoff_subject.txt", context).split())
        body = render_to_string("connections/email/handoff_body.txt", context)
    try:
        send_mail(subject, body, settings.HEALTH_EMAIL_FROM or None, [address])
    except Exception as exc:
        logger.warning("handoff e-mail for setup %s failed: %s", run.pk, type(exc).__name__)
        return "failed"
    return "sent"


@task()
def send_handoff_email(link_id: str, outcome: str) -> str:
    return email_admin(link_id, outcome)
