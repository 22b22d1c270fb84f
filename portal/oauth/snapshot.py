"""What a pending flow froze at start: the callback and the token calls use only this, never the
live app configuration (SECURITY.md item 5a; RFC 9700 §4.4, mix-up). Stored in
``OAuthFlow.snapshot`` (a JSONField) through :meth:`FlowSnapshot.to_json` / :meth:`FlowSnapshot.from_json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: "consent": first consent (active setup, no profile yet); "reconnect": new tokens for the same
#: provider account into the existing profile; "replace": the same, by the admin's explicit choice to
#: switch to another provider account; "repair": a new consent for a completed setup whose profile was
#: deleted in HDP (the tokens went with it), so the repair can create the profile again.
PURPOSES = ("consent", "reconnect", "replace", "repair")
RECONNECTS = ("reconnect", "replace")


@dataclass(frozen=True)
class FlowSnapshot:
    #: The provider's authorization endpoint, validated at start (uris.validate_provider_pair).
    authorize_uri: str
    #: The provider's token endpoint the code is exchanged at, validated at start.
    token_uri: str
    #: The HDP app's client ID at the provider.
    client_id: str
    #: The scopes asked for, space-separated and normalised (RFC 6749 §3.3).
    scope: str
    #: The redirect URI sent with the request: built from settings (flows.redirect_uri_for).
    redirect_uri: str
    #: The HDP application's id, to read its client secret back when the portal holds none.
    app_id: int
    #: The HDP application's name; the callback path must name it (mix-up defence).
    app_name: str
    #: Extra authorization parameters from the preset or app (never a reserved one).
    extra_params: dict[str, str] = field(default_factory=dict)
    #: RFC 9207 ``iss`` the provider must name, or None to compare origins with ``authorize_uri``.
    expected_issuer: str | None = None
    #: How the client authenticates at the token endpoint: "basic" (RFC 6749 §2.3.1) or "post".
    token_auth: str = "basic"
    #: The preset key (portal.oauth.presets), for its refresh-token hint and error wording.
    preset: str = "custom"
    #: What the flow was started for (:data:`PURPOSES`): the first consent of an active setup, or a
    #: reconnect of a completed one into its existing profile (SECURITY.md item 36).
    purpose: str = "consent"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowSnapshot:
        return cls(
            authorize_uri=str(data["authorize_uri"]),
            token_uri=str(data["token_uri"]),
            client_id=str(data["client_id"]),
            scope=str(data.get("scope") or ""),
            redirect_uri=str(data.get("redirect_uri") or ""),
            app_id=int(data["app_id"]),
            app_name=str(data["app_name"]),
            extra_params={str(k): str(v) for k, v in (data.get("extra_params") or {}).items()},
            expected_issuer=data.get("expected_issuer") or None,
            token_auth=str(data.get("token_auth") or "basic"),
            preset=str(data.get("preset") or "custom"),
            purpose=str(data.get("purpose") or "consent"),
        )
