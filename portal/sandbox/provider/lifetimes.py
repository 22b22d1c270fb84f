"""The console's "refresh tokens expire after" setting and each consent's end (docs: README.md,
"See a lapse coming").

django-oauth-toolkit's own ``REFRESH_TOKEN_EXPIRE_SECONDS`` is one global setting that slides with
every refresh; real providers state a lifetime per client, counted from the consent (Snowflake's
``OAUTH_REFRESH_TOKEN_VALIDITY``, a Google app in Testing) and say it in the token response
(``refresh_token_expires_in``). The sandbox does the same, per client, kept in the database.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.sandbox.provider.models import ClientPolicy, RefreshTokenEnd

#: The longest lifetime the console accepts (90 days, Snowflake's maximum), in minutes.
MAX_MINUTES = 90 * 24 * 60


def lifetime(client_id: str) -> int | None:
    """Seconds from consent until the client's refresh tokens stop working; None = never."""
    value = ClientPolicy.objects.filter(client_id=client_id).values_list("refresh_token_lifetime", flat=True)
    return next(iter(value), None)


def set_lifetime(client_id: str, seconds: int | None) -> None:
    """Applies to consents from now on; refresh tokens already issued keep the end they were given."""
    ClientPolicy.objects.update_or_create(client_id=client_id, defaults={"refresh_token_lifetime": seconds})


def record_end(refresh_token: str, seconds: int) -> datetime | None:
    """Give the consent that issued ``refresh_token`` (its token family) an end ``seconds`` from now."""
    from oauth2_provider.models import get_refresh_token_model

    checksum = hashlib.sha256(refresh_token.encode()).hexdigest()
    family = (
        get_refresh_token_model()
        .objects.filter(token_checksum=checksum, revoked__isnull=True)
        .values_list("token_family", flat=True)
        .first()
    )
    if family is None:
        return None
    end = timezone.now() + timedelta(seconds=seconds)
    try:
        with transaction.atomic():
            RefreshTokenEnd.objects.create(token_family=family, expires_at=end)
    except IntegrityError:  # a family gets its end once, at the consent
        return end_of(family)
    return end


def end_of(token_family: uuid.UUID | None) -> datetime | None:
    if token_family is None:
        return None
    found = RefreshTokenEnd.objects.filter(token_family=token_family).values_list("expires_at", flat=True)
    return next(iter(found), None)


def seconds_left(end: datetime) -> int:
    """What ``refresh_token_expires_in`` says: whole seconds until ``end`` (never negative)."""
    return max(0, math.ceil((end - timezone.now()).total_seconds()))
