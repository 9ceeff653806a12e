"""The API's shapes: pydantic models, from which flask-openapi3 validates requests and writes
the OpenAPI 3.1 document (JSON Schema 2020-12). One definition per shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

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


class Answer(BaseModel):
    """A record as the API shows it, read from the record's own attributes: a field is named
    once, here; one the record keeps under another name says where it reads it from."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def answer(cls, record: object, **context: Any) -> dict[str, Any]:
        """``record`` in this shape, ready for JSON."""
        return cls.model_validate(record, context=context).model_dump(mode="json")


def slug_of(relation: str) -> Any:
    """A related organization or MOU, named by its slug."""
    return Field(validation_alias=AliasPath(relation, "slug"))


class OrganizationOut(Answer):
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


# ``MouOut.answer(agreement, on=day)``: in force on that day, one day for a whole list. (A
# docstring here would join the OpenAPI document.)
class MouOut(Answer):
    slug: str
    hub: str = slug_of("hub")
    partner: str = slug_of("partner")
    signed_on: date
    status: str
    valid_until: date | None
    in_force: bool = Field(validation_alias="is_in_force")

    @field_validator("in_force", mode="before")
    @classmethod
    def _in_force_on(cls, is_in_force: Callable[[date], bool], info: ValidationInfo) -> bool:
        return is_in_force(info.context["on"])


class MouList(BaseModel):
    items: list[MouOut]


class ServiceOut(Answer):
    id: int
    mou: str = slug_of("agreement")
    provider: str = slug_of("provider")
    beneficiary: str = slug_of("beneficiary")
    category: str
    title_en: str
    title_ja: str
    claimable: bool
    requires_approval: bool


class ServiceList(BaseModel):
    items: list[ServiceOut]


class PersonOut(Answer):
    email: str
    family_name: str
    given_name: str
    romanized_name: str


class MembershipOut(Answer):
    id: int
    status: MEMBERSHIP_STATES
    kind: str
    member_number: str | None
    person: PersonOut
    valid_until: date | None
    verified_via: str | None
    flagged_since: datetime | None = Field(
        validation_alias="missing_from_roster_since",
        description="When the roster stopped naming this verified member",
    )
    created_at: datetime
    decided_at: datetime | None


class MembershipList(BaseModel):
    items: list[MembershipOut]
    next_cursor: int | None


class ClaimOut(Answer):
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


class EventOut(Answer):
    slug: str
    status: str
    title_en: str
    title_ja: str
    host: str = slug_of("host")
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int


class EventList(BaseModel):
    items: list[EventOut]
    next_cursor: int | None


class RegistrationOut(Answer):
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


class ReportCounts(Answer):
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


def ids_of(outcome: str, description: str) -> Any:
    """The ids a roster import lists as ``<outcome>_ids`` (beside the count of the same name),
    kept in a job's stored report as ``<outcome>``."""
    return Field(validation_alias=AliasChoices(f"{outcome}_ids", outcome), description=description)


# Read from a ``RosterImport`` or from the report a job stored.
class RosterReport(Answer):
    rows: int
    unchanged: bool = Field(description="The roster equals the latest one: nothing was written")
    verified: list[int] = ids_of("verified", "Memberships the roster verified now")
    new: int = Field(description="Rows not in the previous roster")
    dropped: int = Field(description="Rows of the previous roster no longer listed")
    flagged: list[int] = ids_of("flagged", "Verified memberships the roster no longer names")
    unflagged: list[int] = ids_of("unflagged", "Flagged memberships the roster names again")


class JobOut(Answer):
    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: datetime
    finished_at: datetime | None
    result: RosterReport | None
    error: str
