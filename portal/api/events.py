"""Events the key's organization hosts or co-hosts, their registrations, and check-in at the
door through ``portal.events.checkin`` (audited there, rule 7)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.api import paging, schemas
from portal.api.blueprint import acting_key, api
from portal.api.models import ApiKey, Scope
from portal.api.problems import Problem
from portal.errors import NotFound
from portal.events.checkin import check_in
from portal.events.models import Event, Registration, event_cohost
from portal.extensions import db
from portal.language import gettext as _

TAG = Tag(name="Events", description="Events the key's organization hosts or co-hosts")


def _organized_by(key: ApiKey) -> Any:
    return or_(
        Event.host_id == key.organization_id,
        Event.id.in_(
            select(event_cohost.c.event_id).where(
                event_cohost.c.organization_id == key.organization_id
            )
        ),
    )


@api.get("/events", tags=[TAG], responses={200: schemas.EventList, 422: Problem})
def list_events(query: schemas.Page) -> dict[str, Any]:
    """The organization's events (drafts included) in id order."""
    key = acting_key(Scope.REGISTRATIONS_READ)
    rows = select(Event).where(_organized_by(key)).options(joinedload(Event.host))
    found, cursor = paging.page(rows, Event.id, cursor=query.cursor, limit=query.limit)
    return {"items": paging.listing(found, schemas.EventOut), "next_cursor": cursor}


def _event(key: ApiKey, slug: str) -> Event:
    event = db.session.scalar(
        select(Event)
        .where(Event.slug == slug, _organized_by(key))
        .options(joinedload(Event.host), selectinload(Event.cohosts))
    )
    if event is None:
        raise NotFound(_("Not found."))
    return event


@api.get(
    "/events/<slug>/registrations",
    tags=[TAG],
    responses={200: schemas.RegistrationList, 404: Problem, 422: Problem},
)
def list_registrations(
    path: schemas.SlugPath, query: schemas.RegistrationFilters
) -> dict[str, Any]:
    """The event's registrations in id order."""
    key = acting_key(Scope.REGISTRATIONS_READ)
    event = _event(key, path.slug)
    rows = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .options(joinedload(Registration.person))
    )
    if query.status:
        rows = rows.where(Registration.status == query.status)
    found, cursor = paging.page(rows, Registration.id, cursor=query.cursor, limit=query.limit)
    return {"items": paging.listing(found, schemas.RegistrationOut), "next_cursor": cursor}


@api.post(
    "/events/<slug>/check-in",
    tags=[TAG],
    responses={200: schemas.RegistrationOut, 404: Problem, 409: Problem, 422: Problem},
)
def check_in_ticket(path: schemas.SlugPath, body: schemas.CheckInBody) -> dict[str, Any]:
    """Check in the ticket with this code; a second scan answers 409 and says when."""
    key = acting_key(Scope.CHECKIN)
    registration = check_in(_event(key, path.slug), body.code, actor=key.created_by)
    return schemas.RegistrationOut.answer(registration)
