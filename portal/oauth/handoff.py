"""Handoff links: the admin asks the provider account's owner to sign in (issue 19; SECURITY.md "Handoff links").

A link belongs to one setup (run), one purpose ("consent", "reconnect" or "repair") and one tenant.
Its random part (``secrets.token_urlsafe(32)``, 256 bits) is shown to the admin once, at
:func:`create`; only its keyed hash is stored (:func:`portal.lib.crypto.keyed_hashes`). A GET of the
owner's page changes nothing; the owner's POST starts the ordinary authorize flow
(:func:`portal.oauth.flows.start` with ``handoff=``), bound to that browser and to the link.

States (``HandoffLink.State``): waiting -> used (:func:`spend`, once, a conditional UPDATE in the
same transaction as the tokens), refused (:func:`refuse`: the owner said no, the provider answered an
error, or another provider account signed in), revoked (:func:`revoke`, a newer link, the app
edited, the setup cancelled or its purpose done another way: :func:`end_for_run`), expired
(:func:`expire_due`, past ``expires_at``). Only "waiting" can change. Every change is audited;
"used" and "refused" also send :data:`handoff_finished` (portal.connections tells the admin, the
webhook, and goes on with a reconnect or repair).

This module sits in ``portal.oauth`` so the wizard (onboarding) and the setup pages (connections) both
reach it; it never imports either.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.lib import crypto, rawrows
from portal.oauth.consent import ConsentTarget
from portal.oauth.models import HandoffLink

#: The link's random part: 32 bytes from ``secrets`` (256 bits; the issue asks for at least 128).
TOKEN_BYTES = 32
#: What a well-formed link token looks like (token_urlsafe(32) gives 43 characters).
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
HASH_PURPOSE = "handoff-link"
DEFAULT_HOURS = 72
MAX_HOURS = 7 * 24
PURPOSES = ("consent", "reconnect", "repair")

logger = logging.getLogger(__name__)

#: Sent with ``link`` and ``outcome`` ("used" or "refused") once a link is finished by its owner.
handoff_finished = Signal()


@dataclass(frozen=True)
class StartParams:
    """Everything ``flows.start`` needs, read by the admin's HDP access when the link is made (the
    owner has none). Not secret (no client secret: the callback reads it back from HDP as the admin)."""

    client_id: str
    authorize_uri: str
    token_uri: str
    scope: str
    token_auth: str
    app_id: int
    app_name: str
    extra_params: dict[str, str] = field(default_factory=dict)
    expected_issuer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StartParams:
        return cls(**data)


@dataclass(frozen=True)
class Shown:
    """What the owner's page says (plain words, nothing of HDP's ids or the client id)."""

    admin: str
    tenant: str
    store: str
    provider: str
    preset: str
    scope: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shown:
        return cls(**data)


class LinkRefused(Exception):
    """The link cannot be made; ``str(exc)`` is safe to show."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return crypto.keyed_hashes(token, purpose=HASH_PURPOSE)[0]


def url_for(token: str) -> str:
    """The link itself (shown once, e-mailed once; never stored, logged or audited)."""
    return settings.PORTAL_BASE_URL + reverse("oauth:handoff", args=[token])


def actor(link: HandoffLink) -> str:
    return f"handoff:{str(link.pk)[:8]}"


def create(
    target: ConsentTarget,
    *,
    purpose: str,
    created_by: Any,
    start: StartParams,
    shown: Shown,
    hours: int = DEFAULT_HOURS,
    email: str = "",
    note: str = "",
    language: str = "",
) -> tuple[HandoffLink, str]:
    """A new waiting link for ``target`` and ``purpose`` and its token; ends the older open one.

    Raises :class:`LinkRefused` for a purpose the setup cannot take now or a validity out of range."""
    if purpose not in PURPOSES or target.consent_purpose() != purpose:
        raise LinkRefused("This setup cannot take that sign-in now.")
    if not 1 <= hours <= MAX_HOURS:
        raise LinkRefused("A link is valid for 1 hour to 7 days.")
    token = new_token()
    now = timezone.now()
    with transaction.atomic():
        _end(
            HandoffLink.objects.filter(run_id=target.pk, purpose=purpose),
            HandoffLink.State.REVOKED,
            reason="a newer link was made",
            by=created_by.get_username(),
        )
        link = HandoffLink.objects.create(
            token_hash=hash_token(token),
            run_id=target.pk,
            tenant_id=target.tenant_id,
            purpose=purpose,
            created_by=created_by,
            expires_at=now + timedelta(hours=hours),
            email=email,
            note=note[:500],
            language=language[:8],
            start=start.to_json(),
            shown=shown.to_json(),
        )
        AuditEntry.record(
            created_by.get_username(),
            "handoff.created",
            run=target,
            link=str(link.pk),
            purpose=purpose,
            expires_at=link.expires_at.isoformat(),
            sent_to=email or None,
        )
    return link, token


def find(token: str) -> HandoffLink | None:
    """The link for ``token`` in any state (None for a malformed or unknown one). Expires it first
    when its time is up, so the caller sees its real state."""
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        return None
    link = (
        HandoffLink.objects.select_related("run", "created_by")
        .filter(token_hash__in=crypto.keyed_hashes(token, purpose=HASH_PURPOSE))
        .first()
    )
    if link is not None:
        expire(link)
    return link


def is_open(link: HandoffLink, now: datetime | None = None) -> bool:
    return link.state == HandoffLink.State.WAITING and link.expires_at > (now or timezone.now())


def still_open(link_id: Any) -> bool:
    """Read again from the database: the admin may have revoked it while the owner was away."""
    link = HandoffLink.objects.filter(pk=link_id).first()
    if link is None:
        return False
    expire(link)
    return link.state == HandoffLink.State.WAITING


def _end(
    queryset: Any, state: str, *, reason: str, by: str, now: datetime | None = None
) -> list[HandoffLink]:
    """Move the waiting links of ``queryset`` to ``state`` (one conditional UPDATE each), audited."""
    now = now or timezone.now()
    ended = []
    for link in list(queryset.filter(state=HandoffLink.State.WAITING).select_related("run")):
        won = HandoffLink.objects.filter(pk=link.pk, state=HandoffLink.State.WAITING).update(
            state=state, ended_at=now, end_reason=reason[:300], ended_by=by[:150]
        )
        if won:
            link.state, link.ended_at, link.end_reason, link.ended_by = state, now, reason[:300], by[:150]
            AuditEntry.record(
                by or actor(link),
                f"handoff.{state}",
                run=link.run,
                link=str(link.pk),
                purpose=link.purpose,
                reason=reason[:300],
            )
            ended.append(link)
    return ended


def expire(link: HandoffLink, now: datetime | None = None) -> bool:
    """Mark ``link`` expired if its time is up (audited once)."""
    now = now or timezone.now()
    if link.state != HandoffLink.State.WAITING or link.expires_at > now:
        return False
    ended = _end(
        HandoffLink.objects.filter(pk=link.pk, expires_at__lte=now),
        "expired",
        reason="expired",
        by="",
        now=now,
    )
    link.refresh_from_db()
    return bool(ended)


def expire_due(now: datetime | None = None) -> int:
    """Mark every waiting link past its time expired (audited); the owner's page and the state
    displays call :func:`expire` for the one they show, so no scheduler is needed for correctness."""
    now = now or timezone.now()
    return len(
        _end(HandoffLink.objects.filter(expires_at__lte=now), "expired", reason="expired", by="", now=now)
    )


def revoke(link: HandoffLink, *, by: str, reason: str) -> bool:
    """End a waiting link (the admin, or support with a stated reason). False if it was not waiting."""
    return bool(_end(HandoffLink.objects.filter(pk=link.pk), HandoffLink.State.REVOKED, reason=reason, by=by))


def end_for_run(target: Any, *, reason: str, by: str = "", purposes: tuple[str, ...] = PURPOSES) -> int:
    """End the setup's waiting links: the app was edited, the setup cancelled, or the purpose was
    completed another way (the admin signed in themselves)."""
    queryset = HandoffLink.objects.filter(run_id=target.pk, purpose__in=purposes)
    return len(_end(queryset, HandoffLink.State.REVOKED, reason=reason, by=by))


def spend(link_id: Any, *, used_by: str) -> bool:
    """Mark the link used, once: a conditional UPDATE that only a waiting, unexpired link passes.
    Call it inside the transaction that stores the tokens, so a lost race writes nothing."""
    now = timezone.now()
    won = HandoffLink.objects.filter(
        Q(pk=link_id) & Q(state=HandoffLink.State.WAITING) & Q(expires_at__gt=now)
    ).update(state=HandoffLink.State.USED, ended_at=now, used_by=used_by[:200])
    return bool(won)


def used(link_id: Any) -> HandoffLink:
    """After :func:`spend` committed: audit it and tell portal.connections."""
    link = HandoffLink.objects.select_related("run", "created_by").get(pk=link_id)
    AuditEntry.record(
        actor(link),
        "handoff.used",
        run=link.run,
        link=str(link.pk),
        purpose=link.purpose,
        account=link.used_by or None,
    )
    handoff_finished.send(sender=HandoffLink, link=link, outcome="used")
    return link


def refuse(link_id: Any, *, reason: str) -> bool:
    """The owner's sign-in did not fit (denied, a provider error, another account): the link ends
    as refused, the admin is told. False when it was no longer waiting."""
    ended = _end(HandoffLink.objects.filter(pk=link_id), HandoffLink.State.REFUSED, reason=reason, by="")
    for link in ended:
        handoff_finished.send(sender=HandoffLink, link=link, outcome="refused")
    return bool(ended)


#: Why a link ended, in words (``end_reason`` is stored in English for the audit trail).
_REASONS = {
    "denied at the provider": _l("the account owner chose not to allow access"),
    "another provider account signed in": _l(
        "someone signed in with another provider account than the setup's"
    ),
    "a newer link was made": _l("a newer link was made"),
    "the application was edited": _l("the application was edited"),
    "the setup was cancelled": _l("the setup was cancelled"),
    "the sign-in was completed another way": _l("the sign-in was completed another way"),
    "revoked by the admin": _l("you revoked it"),
}


def reason_words(link: HandoffLink) -> str:
    reason = link.end_reason
    if reason in _REASONS:
        return str(_REASONS[reason])
    if reason.startswith(("provider error", "token request failed")):
        return str(_l("the provider answered with an error"))
    return reason


def owner_words(link: HandoffLink) -> str:
    return link.email or str(_l("the account owner"))


def state_line(link: HandoffLink) -> str:
    """The link's state in one sentence for the admin (setup page, wizard, My setups, e-mail)."""
    when = formats.date_format(timezone.localtime(link.ended_at or link.expires_at), "DATETIME_FORMAT")
    if link.state == HandoffLink.State.WAITING:
        until = formats.date_format(timezone.localtime(link.expires_at), "DATETIME_FORMAT")
        return _("Waiting for %(owner)s to sign in (link valid until %(until)s).") % {
            "owner": owner_words(link),
            "until": until,
        }
    if link.state == HandoffLink.State.USED:
        return _("Used by %(account)s at %(time)s.") % {
            "account": link.used_by or owner_words(link),
            "time": when,
        }
    if link.state == HandoffLink.State.REFUSED:
        return _("Refused at %(time)s: %(why)s. Nothing was changed.") % {
            "time": when,
            "why": reason_words(link),
        }
    if link.state == HandoffLink.State.EXPIRED:
        return _("Expired at %(time)s without being used.") % {"time": when}
    return _("Revoked at %(time)s: %(why)s.") % {"time": when, "why": reason_words(link)}


def send_link_email(link: HandoffLink, token: str) -> str:
    """E-mail the link to ``link.email`` in the admin's language, right away (the link cannot wait in
    a task queue: queued task arguments are stored). Returns "" or why it failed, in plain words."""
    if not link.email:
        return ""
    shown = Shown.from_json(link.shown)
    context = {"link": link, "shown": shown, "url": url_for(token), "note": link.note}
    with translation.override(link.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("oauth/email/handoff_link_subject.txt", context).split())
        body = render_to_string("oauth/email/handoff_link_body.txt", context)
        failed = str(_("The e-mail could not be sent; copy the link and send it yourself."))
    try:
        send_mail(subject, body, settings.HEALTH_EMAIL_FROM or None, [link.email])
    except Exception as exc:
        logger.warning("handoff link e-mail failed: %s", type(exc).__name__)
        return failed
    return ""


_HAS_LINK_SQL = "EXISTS (SELECT 1 FROM {links} h WHERE h.run_id = {run} AND h.purpose IN ({purposes}))"


def _has_link_column(purposes: tuple[str, ...]) -> str:
    return "has_handoff_link_" + "_".join(purposes)


def link_flag_sql(
    run_id_column: str, db: str, purposes: tuple[str, ...] = PURPOSES
) -> tuple[str, str, tuple[str, ...]]:
    """``(column name, SQL, parameters)`` of whether the run whose id is ``run_id_column`` (quoted
    ``table.column``) has any link for ``purposes``: a column of a query of runs. :func:`latest` of a run
    that carries it as a bool (:func:`set_link_flag`), and without a link (most setups), reads nothing more."""
    sql = _HAS_LINK_SQL.format(
        links=connections[db].ops.quote_name(HandoffLink._meta.db_table),
        run=run_id_column,
        purposes=", ".join(["%s"] * len(purposes)),
    )
    return _has_link_column(purposes), sql, tuple(purposes)


def set_link_flag(run: Any, purposes: tuple[str, ...], value: object) -> None:
    """The :func:`link_flag_sql` column as a bool (SQLite gives 0 or 1)."""
    setattr(run, _has_link_column(purposes), bool(value))


def latest(target: Any, purposes: tuple[str, ...] = PURPOSES) -> HandoffLink | None:
    """The setup's newest link for ``purposes`` (expired first if its time is up), for the state display."""
    if getattr(target, _has_link_column(purposes), None) is False:  # link_flag_sql(): none at all
        return None
    link = HandoffLink.objects.filter(run_id=target.pk, purpose__in=purposes).order_by("-created_at").first()
    if link is not None:
        expire(link)
    return link


#: :func:`waiting_lines`' query in plain SQL: built through the ORM it cost about 0.9 ms of CPU, as SQL 0.45.
_WAITING_SQL = "SELECT * FROM {links} h WHERE h.created_by_id = %s AND h.purpose = %s AND h.state = %s AND h.expires_at > %s"


def waiting_lines(created_by: Any) -> dict[Any, str]:
    """For My setups, always one query: the first-consent links ``created_by`` is waiting on, in words
    ("Waiting for ... to sign in"), by run id."""
    ops = connections[HandoffLink.objects.db].ops
    sql = _WAITING_SQL.format(links=ops.quote_name(HandoffLink._meta.db_table))
    now = ops.adapt_datetimefield_value(timezone.now())
    links = HandoffLink.objects.raw(sql, (created_by.pk, "consent", HandoffLink.State.WAITING.value, now))
    return {link.run_id: state_line(link) for link in links}


#: :func:`open_links`' query in plain SQL, as the ORM writes ``filter().select_related("run", "created_by")
#: .order_by("expires_at")``: built through the ORM it cost about 1 ms of CPU more than it takes to run.
_OPEN_SQL = (
    "SELECT {link_columns}, {run_columns}, {user_columns} FROM {links} INNER JOIN {runs} ON ({links}.run_id = "
    "{runs}.id) INNER JOIN {users} ON ({links}.created_by_id = {users}.id) WHERE ({links}.expires_at > %s AND "
    "{links}.state = %s AND {links}.tenant_id = %s) ORDER BY {links}.expires_at ASC"
)
#: Whether the tenant has any open link: most have none, and this costs about half the joined query
#: (which names some ninety columns) to plan and answer.
_ANY_OPEN_SQL = "SELECT 1 FROM {links} WHERE ({links}.expires_at > %s AND {links}.state = %s AND {links}.tenant_id = %s) LIMIT 1"


def open_links(tenant_id: int) -> list[HandoffLink]:
    """A tenant's waiting, unexpired links, soonest to expire first, each with its run and its maker
    (the support console's list; never the link itself). One query when there is none, two when there
    are (tests/oauth/test_open_links.py compares them with the ORM's)."""
    connection = connections[HandoffLink.objects.db]
    quote = connection.ops.quote_name
    params = [
        connection.ops.adapt_datetimefield_value(timezone.now()),
        HandoffLink.State.WAITING.value,
        tenant_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_ANY_OPEN_SQL.format(links=quote(HandoffLink._meta.db_table)), params)
        if cursor.fetchone() is None:
            return []
    run_model = HandoffLink.run.field.related_model  # onboarding's Run (oauth does not import onboarding)
    assert isinstance(run_model, type)
    tables = HandoffLink._meta.db_table, run_model._meta.db_table, User._meta.db_table
    sql = _OPEN_SQL.format(
        link_columns=rawrows.columns(HandoffLink, tables[0], connection),
        run_columns=rawrows.columns(run_model, tables[1], connection),
        user_columns=rawrows.columns(User, tables[2], connection),
        links=quote(tables[0]),
        runs=quote(tables[1]),
        users=quote(tables[2]),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    link_of = rawrows.Reader(HandoffLink, tables[0], connection)
    run_of = rawrows.Reader(run_model, tables[1], connection)
    user_of = rawrows.Reader(User, tables[2], connection)
    links = []
    for row in rows:
        link = link_of(row)
        HandoffLink.run.field.set_cached_value(link, run_of(row[link_of.width :]))
        HandoffLink.created_by.field.set_cached_value(link, user_of(row[link_of.width + run_of.width :]))
        links.append(link)
    return links
