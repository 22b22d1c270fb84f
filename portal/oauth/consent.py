"""What a consent is for: the contract between ``portal.oauth`` and the layer above it.

``portal.oauth`` never imports the onboarding app. ``flows.start`` takes any object with this
shape (the onboarding ``Run`` is one, structurally), and the callback reaches it again through the
flow row's foreign key (``flows.target_of``), seeing only these members.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


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

    def held_client_secret(self) -> str | None:
        """The app's client secret while the portal still holds it, else None (then it is read
        back from HDP). May raise ``portal.lib.crypto.DecryptionError``."""
        ...

    def record_consent(self, tokens_json: str, *, scope: str, expires_at: datetime | None) -> None:
        """Keep a fresh exchange's tokens (encrypted)."""
        ...

    def consent_done_url(self) -> str:
        """Where the browser goes after a successful exchange."""
        ...

    def consent_retry_url(self) -> str:
        """Where the browser goes to start the connection again."""
        ...
