"""What a consent is for: the contract between ``portal.oauth`` and the layer above it.

``portal.oauth`` never imports the onboarding app. ``flows.start`` takes any object with this
shape (the onboarding ``Run`` is one, structurally), and the callback reaches it again through the
flow row's foreign key (``flows.target_of``), seeing only these members.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from portal.oauth.identity import Identity


class ConsentTarget(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def owner_id(self) -> Any: ...

    @property
    def tenant_id(self) -> int: ...

    @property
    def preset(self) -> str:
        """The preset key (portal.oauth.presets) whose allowed hosts the URIs must match."""
        ...

    def accepts_consent(self) -> bool:
        """Still able to take a consent (the setup is in progress)."""
        ...

    def consent_purpose(self) -> str | None:
        """Which flow the target may start now: "consent" (first consent), "reconnect" (into the
        existing profile; "replace" fits it too), "repair" (a new profile for a completed setup whose
        profile was deleted) or None (none: SECURITY.md item 36)."""
        ...

    def consent_identity(self) -> Identity | None:
        """The provider account recorded at the last consent, if the provider identified it."""
        ...

    def held_client_secret(self) -> str | None:
        """The app's client secret while the portal still holds it, else None (then it is read
        back from HDP). May raise ``portal.lib.crypto.DecryptionError``."""
        ...

    def record_consent(
        self,
        tokens_json: str,
        *,
        scope: str,
        expires_at: datetime | None,
        purpose: str = "consent",
        identity: Identity | None = None,
        lifetime: dict[str, Any] | None = None,
    ) -> None:
        """Keep a fresh exchange's tokens (encrypted) and the account, scopes and expiry, and what the
        token answer said of the lifetimes (``TokenResult.lifetime``, never a token; issue 22)."""
        ...

    def consent_done_url(self, purpose: str = "consent") -> str:
        """Where the browser goes after a successful exchange."""
        ...

    def consent_retry_url(self, purpose: str = "consent") -> str:
        """Where the browser goes to start the connection again."""
        ...
