"""Read-only: organizations, the MOUs the key's organization is party to, their services,
and the reciprocity report of such an MOU."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import Tag
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.memberships import today
from portal.api import schemas
from portal.api.blueprint import acting_key, api
from portal.api.models import ApiKey, Scope
from portal.api.problems import Problem
from portal.benefits.report import reciprocity_report
from portal.errors import NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Agreement, Organization, ReciprocalService
from portal.timefmt import DEFAULT_TIMEZONE

TAG = Tag(name="Network", description="Organizations, MOUs and their services")
REPORT_TAG = Tag(name="Report", description="The reciprocity report of an MOU")


def _party_of(key: ApiKey) -> Any:
    """MOUs the key's organization signed; LINK-J, the hub, signed them all."""
    if key.organization.is_hub:
        return Agreement.hub_id == key.organization_id
    return Agreement.partner_id == key.organization_id


def _mous(key: ApiKey) -> Any:
    return (
        select(Agreement)
        .where(_party_of(key))
        .options(joinedload(Agreement.hub), joinedload(Agreement.partner))
    )


@api.get("/organizations", tags=[TAG], responses={200: schemas.OrganizationList})
def list_organizations() -> dict[str, Any]:
    """Every organization of the network."""
    organizations = db.session.scalars(select(Organization).order_by(Organization.id))
    return {"items": [schemas.OrganizationOut.answer(o) for o in organizations]}


@api.get(
    "/organizations/<slug>",
    tags=[TAG],
    responses={200: schemas.OrganizationOut, 404: Problem},
)
def get_organization(path: schemas.SlugPath) -> dict[str, Any]:
    """One organization."""
    organization = db.session.scalar(select(Organization).where(Organization.slug == path.slug))
    if organization is None:
        raise NotFound(_("Not found."))
    return schemas.OrganizationOut.answer(organization)


@api.get("/mous", tags=[TAG], responses={200: schemas.MouList})
def list_mous() -> dict[str, Any]:
    """The MOUs the key's organization is party to."""
    key = acting_key()
    on = today()
    agreements = db.session.scalars(_mous(key).order_by(Agreement.signed_on, Agreement.id))
    return {"items": [schemas.MouOut.answer(a, on=on) for a in agreements]}


def _mou_or_404(key: ApiKey, slug: str) -> Agreement:
    agreement = db.session.scalar(_mous(key).where(Agreement.slug == slug))
    if agreement is None:
        raise NotFound(_("Not found."))
    return agreement


@api.get("/mous/<slug>", tags=[TAG], responses={200: schemas.MouOut, 404: Problem})
def get_mou(path: schemas.SlugPath) -> dict[str, Any]:
    """One MOU of the key's organization."""
    return schemas.MouOut.answer(_mou_or_404(acting_key(), path.slug), on=today())


def _services(key: ApiKey) -> Any:
    return (
        select(ReciprocalService)
        .join(ReciprocalService.agreement)
        .where(_party_of(key))
        .options(
            joinedload(ReciprocalService.agreement),
            joinedload(ReciprocalService.provider),
            joinedload(ReciprocalService.beneficiary),
        )
    )


@api.get("/services", tags=[TAG], responses={200: schemas.ServiceList})
def list_services() -> dict[str, Any]:
    """The services of the key's organization's MOUs, both directions."""
    services = db.session.scalars(_services(acting_key()).order_by(ReciprocalService.id))
    return {"items": [schemas.ServiceOut.answer(s) for s in services]}


@api.get(
    "/services/<int:service_id>", tags=[TAG], responses={200: schemas.ServiceOut, 404: Problem}
)
def get_service(path: schemas.ServicePath) -> dict[str, Any]:
    """One service of the key's organization's MOUs."""
    service = db.session.scalar(
        _services(acting_key()).where(ReciprocalService.id == path.service_id)
    )
    if service is None:
        raise NotFound(_("Not found."))
    return schemas.ServiceOut.answer(service)


@api.get(
    "/mous/<slug>/report",
    tags=[REPORT_TAG],
    responses={200: schemas.ReportOut, 404: Problem},
)
def get_report(path: schemas.SlugPath, query: schemas.ReportQuery) -> dict[str, Any]:
    """Claims made, granted and refused per direction and period, in Japan time (the same
    counts as the report page)."""
    key = acting_key(Scope.CLAIMS_READ)
    agreement = _mou_or_404(key, path.slug)
    year = query.year or today().year
    report = reciprocity_report(
        [agreement], kind=query.period, year=year, timezone=DEFAULT_TIMEZONE
    )

    out = schemas.ReportOut(
        mou=agreement.slug,
        period=query.period,
        year=year,
        directions=[
            schemas.ReportDirection(
                provider=row.provider.slug,
                beneficiary=row.beneficiary.slug,
                periods=[
                    schemas.ReportPeriod(
                        label=span.key, counts=schemas.ReportCounts.model_validate(cell)
                    )
                    for span, cell in zip(report.periods, row.per_period, strict=True)
                ],
                total=schemas.ReportCounts.model_validate(row.total),
            )
            for row in report.rows
        ],
    )
    return out.model_dump(mode="json")
