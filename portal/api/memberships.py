"""Memberships of the key's organization: list, read, verify, reject, revoke. The decisions
are ``portal.accounts.memberships``' own functions, so the rules stay there."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts import memberships as decisions
from portal.accounts.models import Membership, MembershipStatus, Person
from portal.api import paging, schemas
from portal.api.blueprint import acting_key, api
from portal.api.models import ApiKey, Scope
from portal.api.problems import Problem
from portal.errors import NotFound
from portal.extensions import db
from portal.language import gettext as _

TAG = Tag(name="Memberships", description="Memberships of the key's organization")
DECISION_RESPONSES = {200: schemas.MembershipOut, 404: Problem, 409: Problem, 422: Problem}


def own_organization(key: ApiKey, slug: str) -> None:
    """Another organization's records do not exist for this key (rule 4)."""
    if slug != key.organization.slug:
        raise NotFound(_("Not found."))


@api.get(
    "/organizations/<slug>/memberships",
    tags=[TAG],
    responses={200: schemas.MembershipList, 404: Problem, 422: Problem},
)
def list_memberships(path: schemas.SlugPath, query: schemas.MembershipFilters) -> dict[str, Any]:
    """The organization's memberships in id order, filtered; ``next_cursor`` reads on."""
    key = acting_key(Scope.MEMBERSHIPS_READ)
    own_organization(key, path.slug)
    rows = (
        select(Membership)
        .where(Membership.organization_id == key.organization_id)
        .options(joinedload(Membership.person))
    )
    if query.status:
        rows = rows.where(Membership.status == query.status)
    if query.flagged is not None:
        flagged = Membership.missing_from_roster_since.is_not(None)
        rows = rows.where(
            flagged & (Membership.status == MembershipStatus.VERIFIED.value)
            if query.flagged
            else ~flagged
        )
    if query.email:
        rows = rows.where(
            Membership.person_id.in_(
                select(Person.id).where(Person.email_normalized == query.email.strip().lower())
            )
        )
    if query.member_number:
        rows = rows.where(Membership.member_number == query.member_number.strip())
    found, cursor = paging.page(rows, Membership.id, cursor=query.cursor, limit=query.limit)
    return {"items": paging.listing(found, schemas.MembershipOut), "next_cursor": cursor}


def _membership(key: ApiKey, membership_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership)
        .where(
            Membership.id == membership_id,
            Membership.organization_id == key.organization_id,
        )
        .options(joinedload(Membership.person), joinedload(Membership.organization))
    )
    if membership is None:
        raise NotFound(_("Not found."))
    return membership


@api.get(
    "/memberships/<int:membership_id>",
    tags=[TAG],
    responses={200: schemas.MembershipOut, 404: Problem},
)
def get_membership(path: schemas.MembershipPath) -> dict[str, Any]:
    """One membership of the key's organization."""
    key = acting_key(Scope.MEMBERSHIPS_READ)
    return schemas.MembershipOut.answer(_membership(key, path.membership_id))


@api.post("/memberships/<int:membership_id>/verify", tags=[TAG], responses=DECISION_RESPONSES)
def verify_membership(path: schemas.MembershipPath, body: schemas.VerifyBody) -> dict[str, Any]:
    """Verify a pending membership until ``valid_until`` (default: end of the membership year)."""
    key = acting_key(Scope.MEMBERSHIPS_DECIDE)
    membership = _membership(key, path.membership_id)
    decisions.verify_membership(
        membership, actor=key.created_by, valid_until=body.valid_until, note=body.note
    )
    return schemas.MembershipOut.answer(membership)


@api.post("/memberships/<int:membership_id>/reject", tags=[TAG], responses=DECISION_RESPONSES)
def reject_membership(path: schemas.MembershipPath, body: schemas.ReasonBody) -> dict[str, Any]:
    """Reject a pending membership; the person reads the reason."""
    key = acting_key(Scope.MEMBERSHIPS_DECIDE)
    membership = _membership(key, path.membership_id)
    decisions.reject_membership(membership, actor=key.created_by, reason=body.reason)
    return schemas.MembershipOut.answer(membership)


@api.post("/memberships/<int:membership_id>/revoke", tags=[TAG], responses=DECISION_RESPONSES)
def revoke_membership(path: schemas.MembershipPath, body: schemas.ReasonBody) -> dict[str, Any]:
    """End a verified membership early; the person reads the reason."""
    key = acting_key(Scope.MEMBERSHIPS_DECIDE)
    membership = _membership(key, path.membership_id)
    decisions.revoke_membership(membership, actor=key.created_by, reason=body.reason)
    return schemas.MembershipOut.answer(membership)
