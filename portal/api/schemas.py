"""What the API answers, as pydantic models (they are the OpenAPI document's schemas).

No model has a field for a client secret, an access or refresh token or a password; a handoff link only in
the answer that creates it (:class:`HandoffLinkCreated`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

StateName = Literal[
    "working", "needs_reconnect", "broken", "hdp_unavailable", "stale", "checking", "unchecked"
]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class Named(Schema):
    name: str
    hdp_id: int | None = Field(None, description="The object's id in HDP; null when none was recorded.")


class Tenant(Schema):
    id: int
    name: str


class Store(Schema):
    id: int | None
    name: str


class SetupStatus(Schema):
    state: StateName = Field(description="The status My setups shows for this setup.")
    label: str = Field(description="The status in words, in the language the request asked for.")
    cause: str | None = Field(None, description="Why (a stable code), null when nothing was checked.")
    cause_text: str | None = Field(None, description="Why, in the words the setup page uses.")
    checked_at: datetime | None = Field(None, description="When the shown status was established.")
    is_problem: bool = Field(description="True for needs_reconnect and broken.")


class SetupLinks(Schema):
    self: str
    checks: str
    page: str = Field(description="The setup's page in the portal (sign-in needed).")


class SetupSignin(Schema):
    expected_end: datetime | None = Field(
        description="When the sign-in at the provider is expected to lapse; null: no known end."
    )
    line: str = Field(description="The same in words, as My setups shows it.")
    basis: list[str] = Field(description="Why that date (or no known end), in the setup page's sentences.")


class Setup(Schema):
    id: str
    status: SetupStatus
    tenant: Tenant
    store: Store
    data_source: Named
    oauth_profile: Named
    oauth_application: Named
    provider_account: str | None = Field(
        None, description="The provider account the sign-in was made with (display name or subject)."
    )
    granted_scopes: list[str]
    signin: SetupSignin
    owner: str = Field(description="The HDP user name of the person who made the setup.")
    created_at: datetime
    completed_at: datetime | None
    links: SetupLinks


class SetupPage(Schema):
    items: list[Setup]
    next_cursor: str | None = Field(
        None, description="Pass as ?cursor= for the next page; null on the last page."
    )


CheckStateName = Literal["queued", "finished", "abandoned"]


class Check(Schema):
    id: int
    setup_id: str
    trigger: str = Field(description="setup, manual, support, scheduled, reconnect or repair.")
    requested_by: str
    progress: CheckStateName = Field(
        description="queued (waiting for or being run by a worker), finished, or abandoned."
    )
    started_at: datetime
    finished_at: datetime | None
    state: str | None = Field(None, description="What the check found (a status), when finished.")
    cause: str | None = None
    cause_text: str | None = None


class CheckQueued(Schema):
    id: int
    setup_id: str
    progress: CheckStateName
    location: str = Field(description="Poll this URL (also in the Location header).")


class CheckPage(Schema):
    items: list[Check]


class Me(Schema):
    username: str
    tenants: list[Tenant]
    scopes: list[str]
    token_name: str
    token_expires_at: datetime
    support_staff: bool


class TenantSummary(Schema):
    id: int
    name: str
    in_hdp: bool = Field(description="False for a tenant only the portal's setups still name.")
    setups: int = Field(description="The portal's setups for the tenant (runs), in progress or not.")
    active: int
    completed: int
    worst_status: SetupStatus | None = Field(
        None, description="The console's worst connection status of the tenant's completed setups."
    )


class TenantPage(Schema):
    items: list[TenantSummary]
    problem: str | None = Field(None, description="Why HDP's tenant list could not be read, if it could not.")


class Finding(Schema):
    code: str = Field(description="A stable name of the kind of finding.")
    severity: str
    text: str = Field(description="What is wrong, in the console's words.")
    action: str = Field(description="The safe next action, in the console's words.")
    ask_owner: str | None = Field(None, description="Whom to ask (the owning tenant admin), when someone.")
    setup_id: str | None = None
    affected: list[str] = Field(description="What else the same cause broke.")
    harm: int = Field(description="How many data sources it stops.")


class Findings(Schema):
    tenant: Tenant
    complete: bool = Field(description="False when HDP could not be read in full (see problem).")
    problem: str | None = Field(None, description="Why HDP could not be read, in the console's words.")
    items: list[Finding]


#: An address Django's e-mail validator (the page's EmailField) accepts: dot-atom local part, a domain
#: of DNS labels and a top-level label of 2 to 63 letters (or hyphens inside).
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z-]{0,61}[A-Za-z]$"
)
HandoffPurpose = Literal["reconnect", "repair"]
HandoffState = Literal["waiting", "used", "refused", "expired", "revoked"]


class HandoffLinkCreate(Strict):
    purpose: HandoffPurpose = Field(
        description=(
            "reconnect (the setup's sign-in lapsed) or repair (its OAuth profile is gone), as the setup "
            "page offers them; a first consent is asked from the wizard."
        )
    )
    email: str | None = Field(
        None,
        pattern=EMAIL_PATTERN,
        max_length=254,
        description="The account owner's e-mail address: the portal e-mails the link there.",
    )
    note: str = Field("", max_length=500, pattern=r"^[^\x00]*$", description="A short note for the owner.")
    hours: int = Field(72, ge=1, le=168, description="How long the link works: 1 to 168 hours (7 days).")

    @field_validator("email")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        """The page's own check (the form's EmailField)."""
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("not a valid e-mail address") from None
        return value or None


class HandoffLinkCreated(Schema):
    id: str
    setup_id: str
    purpose: HandoffPurpose
    state: HandoffState
    expires_at: datetime
    email: str | None = Field(None, description="Where the portal e-mailed the link, if anywhere.")
    mail_problem: str | None = Field(
        None, description="Why the e-mail could not be sent, in the page's words."
    )
    link: str | None = Field(
        None,
        description=(
            "The link for the account owner. Only in the first answer: a replay of the same "
            "Idempotency-Key leaves it out (the portal keeps only its hash) and says so in replay_note."
        ),
    )
    replay_note: str | None = Field(
        None, description="On a replayed answer: why the link is not in it, and what to do instead."
    )
