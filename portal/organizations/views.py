"""Public pages of the network: home, partner directory, partner and MOU pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from portal import versions
from portal.language import lazy_gettext as _l
from portal.organizations import queries
from portal.organizations.models import AgreementStatus, ServiceCategory

blueprint = Blueprint("organizations", __name__)

CATEGORY_LABELS = {
    ServiceCategory.MEMBER_SERVICES: _l("Member services"),
    ServiceCategory.PUBLICATIONS: _l("Publications and information exchange"),
    ServiceCategory.PROGRAMS_EVENTS: _l("Programs and events"),
    ServiceCategory.COHOSTING: _l("Co-hosting, sponsorship and announcements"),
    ServiceCategory.MUTUAL_VISITS: _l("Mutual visits"),
    ServiceCategory.SYMPOSIA: _l("Symposia"),
    ServiceCategory.PERSONNEL_EXCHANGE: _l("Personnel exchange"),
}

STATUS_LABELS = {
    AgreementStatus.DRAFT: _l("Draft"),
    AgreementStatus.ACTIVE: _l("Active"),
    AgreementStatus.SUSPENDED: _l("Suspended"),
    AgreementStatus.ENDED: _l("Ended"),
}


@blueprint.app_template_global()
def category_label(category: str) -> str:
    return str(CATEGORY_LABELS.get(ServiceCategory(category), category))


@blueprint.app_template_global()
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(AgreementStatus(status), status))


@blueprint.get("/")
def home() -> str:
    # The network is the same for every visitor and changes with its two tables only: the
    # template reads it (``network``) only when its remembered rendering is out of date.
    return render_template(
        "organizations/home.html",
        network=queries.network_overview,
        network_version=versions.tables_version("organization", "agreement"),
    )


@blueprint.get("/partners")
def partner_directory() -> str:
    countries = queries.partner_countries()
    country = request.args.get("country", "").upper() or None
    if country not in countries:
        country = None
    return render_template(
        "organizations/directory.html",
        partners=queries.list_partners(country),
        countries=countries,
        selected_country=country,
    )


@blueprint.get("/partners/<slug>")
def partner_detail(slug: str) -> str:
    organization = queries.get_organization(slug) or abort(404)
    agreements = queries.agreements_of(organization)
    return render_template(
        "organizations/partner.html",
        organization=organization,
        agreements=[(a, queries.services_by_direction(a)) for a in agreements],
    )


@blueprint.get("/mou/<slug>")
def agreement_detail(slug: str) -> str:
    agreement = queries.get_agreement(slug) or abort(404)
    return render_template(
        "organizations/agreement.html",
        agreement=agreement,
        directions=queries.services_by_direction(agreement),
    )
