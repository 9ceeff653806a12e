"""Claims on the services the key's organization provides: list, read, approve, reject, mark
fulfilled, through ``portal.benefits.services`` (eligibility is checked again there)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.api import paging, schemas
from portal.api.blueprint import acting_key, api
from portal.api.models import ApiKey, Scope
from portal.api.problems import Problem
from portal.benefits import services as decisions
from portal.benefits.models import BenefitClaim
from portal.errors import NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import ReciprocalService

TAG = Tag(name="Claims", description="Claims on the services the key's organization provides")
DECISION_RESPONSES = {200: schemas.ClaimOut, 404: Problem, 409: Problem, 422: Problem}


def _provided_by(key: ApiKey) -> Any:
    return BenefitClaim.service_id.in_(
        select(ReciprocalService.id).where(ReciprocalService.provider_id == key.organization_id)
    )


@api.get("/claims", tags=[TAG], responses={200: schemas.ClaimList, 422: Problem})
def list_claims(query: schemas.ClaimFilters) -> dict[str, Any]:
    """Claims on the organization's services in id order; ``next_cursor`` reads on."""
    key = acting_key(Scope.CLAIMS_READ)
    rows = select(BenefitClaim).where(_provided_by(key)).options(joinedload(BenefitClaim.person))
    if query.status:
        rows = rows.where(BenefitClaim.status == query.status)
    if query.service_id:
        rows = rows.where(BenefitClaim.service_id == query.service_id)
    found, cursor = paging.page(rows, BenefitClaim.id, cursor=query.cursor, limit=query.limit)
    return {"items": paging.listing(found, schemas.ClaimOut), "next_cursor": cursor}


def _claim(key: ApiKey, claim_id: int) -> BenefitClaim:
    claim = db.session.scalar(
        select(BenefitClaim)
        .where(BenefitClaim.id == claim_id, _provided_by(key))
        .options(joinedload(BenefitClaim.person), joinedload(BenefitClaim.service))
    )
    if claim is None:
        raise NotFound(_("Not found."))
    return claim


@api.get("/claims/<int:claim_id>", tags=[TAG], responses={200: schemas.ClaimOut, 404: Problem})
def get_claim(path: schemas.ClaimPath) -> dict[str, Any]:
    """One claim on the organization's services."""
    return schemas.ClaimOut.answer(_claim(acting_key(Scope.CLAIMS_READ), path.claim_id))


def _reloaded(claim_id: int) -> dict[str, Any]:
    # The services lock and reload the claim; answer with what was committed.
    claim = db.session.get(BenefitClaim, claim_id, populate_existing=True)
    assert claim is not None
    return schemas.ClaimOut.answer(claim)


@api.post("/claims/<int:claim_id>/approve", tags=[TAG], responses=DECISION_RESPONSES)
def approve_claim(path: schemas.ClaimPath, body: schemas.NoteBody) -> dict[str, Any]:
    """Approve a requested claim; the member's eligibility is checked again now."""
    key = acting_key(Scope.CLAIMS_DECIDE)
    decisions.approve_claim(_claim(key, path.claim_id), actor=key.created_by, note=body.note)
    return _reloaded(path.claim_id)


@api.post("/claims/<int:claim_id>/reject", tags=[TAG], responses=DECISION_RESPONSES)
def reject_claim(path: schemas.ClaimPath, body: schemas.ReasonBody) -> dict[str, Any]:
    """Refuse a requested claim; the member reads the reason."""
    key = acting_key(Scope.CLAIMS_DECIDE)
    decisions.reject_claim(_claim(key, path.claim_id), actor=key.created_by, reason=body.reason)
    return _reloaded(path.claim_id)


@api.post("/claims/<int:claim_id>/fulfil", tags=[TAG], responses=DECISION_RESPONSES)
def fulfil_claim(path: schemas.ClaimPath, body: schemas.NoteBody) -> dict[str, Any]:
    """Record that an approved benefit was delivered."""
    key = acting_key(Scope.CLAIMS_DECIDE)
    decisions.fulfil_claim(_claim(key, path.claim_id), actor=key.created_by, note=body.note)
    return _reloaded(path.claim_id)
