"""What the sandbox provider keeps besides django-oauth-toolkit's own tables.

* :class:`SigningKey`: the RSA key the provider signs its OpenID Connect ``id_token`` with. Generated
  at seed time (or on first use), never in the repository or settings; sealed at rest like every
  secret the portal stores (``portal.lib.crypto``).
* :class:`ClientPolicy`: the console's "refresh tokens expire after" setting, per client.
* :class:`RefreshTokenEnd`: when a consent's refresh tokens stop working. Rotation passes the
  ``token_family`` on (django-oauth-toolkit), so every rotated token of one consent ends at the
  same time, as a provider's "N days after consent" does; a new consent starts a new family.
"""

from __future__ import annotations

from django.db import models


class SigningKey(models.Model):
    """One row (pk 1): the provider's current RSA signing key, PEM, sealed."""

    pem_enc = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox provider signing key of {self.created_at:%Y-%m-%d}"


class ClientPolicy(models.Model):
    # The client's ``client_id`` (a plain key: django-oauth-toolkit's Application model is swappable).
    client_id = models.CharField(max_length=100, unique=True)
    # Seconds from consent until the consent's refresh tokens stop working; null = never.
    refresh_token_lifetime = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"policy of client {self.client_id}"


class RefreshTokenEnd(models.Model):
    token_family = models.UUIDField(unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.token_family} ends {self.expires_at:%Y-%m-%d %H:%M}"
