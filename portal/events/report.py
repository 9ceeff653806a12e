"""Registrations for the reciprocity report: the other side's members at each side's events.

For an MOU between LINK-J and a partner, the direction "partner → LINK-J" counts LINK-J
members' registrations at events the partner hosts or co-hosts, and "LINK-J → partner" the
partner's members at LINK-J's events. One grouped statement for all periods, so the count of
statements stays constant as registrations grow.

The events area may not import the benefits area: the app factory registers
``registrations_by_direction`` with the report (``portal.register_area_hooks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select, union_all

from portal.accounts.models import Membership, MembershipStatus
from portal.events.models import Event, Registration, RegistrationStatus, event_cohost
from portal.extensions import db
from portal.organizations.models import Agreement

if TYPE_CHECKING:
    from portal.benefits.report import Key, Period

#: Registrations that happened: confirmed, attended or still to pay for.
COUNTED = (
    RegistrationStatus.CONFIRMED.value,
    RegistrationStatus.CHECKED_IN.value,
    RegistrationStatus.AWAITING_PAYMENT.value,
)
#: A member then, even if the membership has since ended.
MEMBER_STATES = (MembershipStatus.VERIFIED.value, MembershipStatus.EXPIRED.value)


def registrations_by_direction(
    agreements: Sequence[Agreement], spans: Sequence[Period]
) -> dict[Key, int]:
    if not agreements or not spans:
        return {}
    organizations = {a.hub_id for a in agreements} | {a.partner_id for a in agreements}
    window = (
        Registration.status.in_(COUNTED),
        Registration.created_at >= spans[0].start,
        Registration.created_at < spans[-1].end,
    )
    columns = (
        Registration.id.label("registration_id"),
        Registration.person_id.label("person_id"),
        Registration.created_at.label("created_at"),
    )
    hosted = select(*columns, Event.host_id.label("organizer_id")).join(
        Event, Event.id == Registration.event_id
    )
    cohosted = select(*columns, event_cohost.c.organization_id.label("organizer_id")).join(
        event_cohost, event_cohost.c.event_id == Registration.event_id
    )
    organized = union_all(hosted.where(*window), cohosted.where(*window)).subquery()
    period = case(
        *((organized.c.created_at < span.end, index) for index, span in enumerate(spans)),
        else_=len(spans) - 1,
    )
    rows = db.session.execute(
        select(
            organized.c.organizer_id,
            Membership.organization_id,
            period,
            func.count(func.distinct(organized.c.registration_id)),
        )
        .join(Membership, Membership.person_id == organized.c.person_id)
        .where(
            Membership.status.in_(MEMBER_STATES),
            Membership.organization_id.in_(organizations),
            organized.c.organizer_id.in_(organizations),
            organized.c.organizer_id != Membership.organization_id,
        )
        .group_by(organized.c.organizer_id, Membership.organization_id, period)
    ).all()
    by_pair = {
        (organizer, member_org, index): count for organizer, member_org, index, count in rows
    }
    counts: dict[Key, int] = {}
    for agreement in agreements:
        for provider, beneficiary in (
            (agreement.partner_id, agreement.hub_id),
            (agreement.hub_id, agreement.partner_id),
        ):
            for index in range(len(spans)):
                count = by_pair.get((provider, beneficiary, index), 0)
                if count:
                    counts[(agreement.id, provider, beneficiary, index)] = count
    return counts
