"""What each area holds about a person: its part of the export, its erasure, what it keeps.

The accounts area answers for a person's data as a whole (GDPR art. 15, 17 and 20; APPI),
but may not import the areas built on it (benefits, events, payments). Each of those
registers a ``PersonalDataArea`` here instead, from its own ``personal_data`` module, which
the application factory imports (``portal.register_personal_data``).
``accounts.services.export_personal_data`` and ``delete_account`` go through the areas in
``position`` order, inside one transaction that only ``delete_account`` commits.

An area's ``erase`` leaves nothing that identifies the person but what the law makes the
portal keep, and its ``kept`` says what that is, why, and until when: the export shows it
before the person decides to delete their account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.accounts.models import Person
    from portal.organizations.models import Organization


@dataclass(frozen=True)
class Kept:
    """Something an area keeps after the person's account is deleted."""

    #: What stays, in the viewer's language.
    what: str
    #: The law or reason that makes the portal keep it.
    why: str
    #: The last day it is kept, for records with a fixed end; None for records that no
    #: longer identify anyone once the account is gone.
    until: date | None = None


@dataclass(frozen=True)
class PersonalDataArea:
    #: Erased in ascending order (registrations free seats before payments are looked at).
    position: int
    #: Its name in the export's list of what is kept after deletion.
    name: str
    #: The area's part of the export: ``{"event_registrations": [...], ...}``.
    export: Callable[[Person], Mapping[str, Any]]
    #: Erase the person's data in the caller's transaction (no commit); returns counts for
    #: the audit entry of the deletion (``{"registrations_cancelled": 2}``).
    erase: Callable[[Person, datetime], Mapping[str, int]]
    #: What the area would keep if the account were deleted on that day.
    kept: Callable[[Person, date], list[Kept]]
    #: Tables with a ``person_id`` this area answers for (a test checks none is forgotten).
    tables: tuple[str, ...] = ()
    #: Called when the person withdraws their consent to share data with an organization
    #: abroad, in the withdrawal's transaction (no commit): stop what would still go there.
    consent_withdrawn: Callable[[Person, Organization, datetime], None] | None = None


_AREAS: dict[str, PersonalDataArea] = {}


def register(area: PersonalDataArea) -> None:
    """Add an area (again: a module imported twice replaces its own entry)."""
    _AREAS[area.name] = area


def areas() -> list[PersonalDataArea]:
    """The registered areas, in the order they export and erase."""
    return sorted(_AREAS.values(), key=lambda area: (area.position, area.name))


def when(value: datetime | None) -> str | None:
    """A stored time as the export writes it: ISO 8601 in UTC."""
    return value.astimezone(UTC).isoformat() if value else None


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
