"""The API's shapes: pydantic models, from which flask-openapi3 validates requests and writes
the OpenAPI 3.1 document (JSON Schema 2020-12). One definition per shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.inputs import MAX_INTEGER

Id = Field(ge=1, le=MAX_INTEGER)
#: No control characters but tab and line breaks: the portal refuses them everywhere (and
#: PostgreSQL refuses NUL in text), so the document says so and callers are told at once.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
MEMBERSHIP_STATES = Literal["pending", "verified", "rejected", "expired", "revoked"]
CLAIM_STATES = Literal["requested", "approved", "fulfilled", "rejected", "cancelled"]


class Strict(BaseModel):
    """Inputs: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# --- paths and queries -----------------------------------------------------------------------


class SlugPath(BaseModel):
    slug: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class MembershipPath(BaseModel):
    membership_id: int = Id


class ClaimPath(BaseModel):
    claim_id: int = Id


class ServicePath(BaseModel):
    service_id: int = Id


class JobPath(BaseModel):
    job_id: int = Id


class Page(BaseModel):
    cursor: int | None = Field(
        None, ge=0, le=MAX_INTEGER, description="The `next_cursor` of the previous page"
    )
    limit: int = Field(50, ge=1, le=200)


class MembershipFilters(Page):
    status: MEMBERSHIP_STATES | None = None
    flagged: bool | None = Field(None, description="Verified but missing from the latest roster")
    email: str | None = Field(None, max_length=320, pattern=TEXT)
    member_number: str | None = Field(None, max_length=64, pattern=TEXT)


class ClaimFilters(Page):
    status: CLAIM_STATES | None = None
    service_id: int | None = Field(None, ge=1, le=MAX_INTEGER)


class RegistrationFilters(Page):
    status: (
        Literal[
            "pending_approval",
            "awaiting_payment",
            "confirmed",
            "checked_in",
            "waitlisted",
            "cancelled",
            "rejected",
        ]
        | None
    ) = None


class ReportQuery(BaseModel):
    period: Literal["quarter", "year"] = "quarter"
    year: int | None = Field(None, ge=2000, le=2100)


# --- bodies ---------------------------------------------------------------------------------


class VerifyBody(Strict):
    valid_until: date | None = Field(
        None, description="Last day of validity; default: the end of the membership year"
    )
    note: str = Field("", max_length=2000, pattern=TEXT)


class ReasonBody(Strict):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=TEXT, description="The person reads it"
    )


class NoteBody(Strict):
    note: str = Field("", max_length=2000, pattern=TEXT)


class CheckInBody(Strict):
    code: str = Field(
        min_length=1, max_length=100, pattern=TEXT, description="The ticket's code or QR text"
    )


class RosterRecord(Strict):
    member_number: str | None = Field(None, max_length=64, pattern=TEXT)
    email: str | None = Field(None, max_length=320, pattern=TEXT)
    valid_until: date | None = None


class RosterBody(Strict):
    records: list[RosterRecord] = Field(max_length=50_000)


# --- answers --------------------------------------------------------------------------------


class OrganizationOut(BaseModel):
    slug: str
    kind: Literal["hub", "partner", "host"]
    short_name: str
    name_en: str
    name_ja: str
    country: str
    timezone: str
    website: str | None


class OrganizationList(BaseModel):
    items: list[OrganizationOut]


class MouOut(BaseModel):
    slug: str
    hub: str
    partner: str
    signed_on: date
    status: str
    valid_until: date | None
    in_force: bool


class MouList(BaseModel):
    items: list[MouOut]


class ServiceOut(BaseModel):
    id: int
    mou: str
    provider: str
    beneficiary: str
    category: str
    title_en: str
    title_ja: str
    claimable: bool
    requires_approval: bool


class ServiceList(BaseModel):
    items: list[ServiceOut]


class PersonOut(BaseModel):
    email: str
    family_name: str
    given_name: str
    romanized_name: str


class MembershipOut(BaseModel):
    id: int
    status: MEMBERSHIP_STATES
    kind: str
    member_number: str | None
    person: PersonOut
    valid_until: date | None
    verified_via: str | None
    flagged_since: datetime | None = Field(
        description="When the roster stopped naming this verified member"
    )
    created_at: datetime
    decided_at: datetime | None


class MembershipList(BaseModel):
    items: list[MembershipOut]
    next_cursor: int | None


class ClaimOut(BaseModel):
    id: int
    service_id: int
    status: CLAIM_STATES
    person: PersonOut
    period: str
    created_at: datetime
    decided_at: datetime | None
    fulfilled_at: datetime | None


class ClaimList(BaseModel):
    items: list[ClaimOut]
    next_cursor: int | None


class EventOut(BaseModel):
    slug: str
    status: str
    title_en: str
    title_ja: str
    host: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int


class EventList(BaseModel):
    items: list[EventOut]
    next_cursor: int | None


class RegistrationOut(BaseModel):
    id: int
    status: str
    code: str
    person: PersonOut
    ticket_type_id: int
    created_at: datetime
    checked_in_at: datetime | None


class RegistrationList(BaseModel):
    items: list[RegistrationOut]
    next_cursor: int | None


class ReportCounts(BaseModel):
    requested: int
    granted: int
    refused: int
    members: int
    registrations: int


class ReportPeriod(BaseModel):
    label: str
    counts: ReportCounts


class ReportDirection(BaseModel):
    provider: str
    beneficiary: str
    periods: list[ReportPeriod]
    total: ReportCounts


class ReportOut(BaseModel):
    mou: str
    period: Literal["quarter", "year"]
    year: int
    directions: list[ReportDirection]


class RosterReport(BaseModel):
    rows: int
    unchanged: bool = Field(description="The roster equals the latest one: nothing was written")
    verified: list[int] = Field(description="Memberships the roster verified now")
    new: int = Field(description="Rows not in the previous roster")
    dropped: int = Field(description="Rows of the previous roster no longer listed")
    flagged: list[int] = Field(description="Verified memberships the roster no longer names")
    unflagged: list[int] = Field(description="Flagged memberships the roster names again")


class JobOut(BaseModel):
    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: datetime
    finished_at: datetime | None
    result: RosterReport | None
    error: str
