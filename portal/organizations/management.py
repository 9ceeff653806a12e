"""Management pages of the network: staff add and edit organizations and MOUs; staff and
partner admins read the MOUs they are party to (others' are None from the scoped queries, so
they answer 404: rule 4).

An MOU's page shows its facts here and, below them, what the areas built on this one add
(the benefits area: the services the MOU promises, with their management links). They
register a section with ``register_mou_section``, from the app factory: this area imports
none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.admin.access import management_blueprint, require_staff
from portal.forms import details_from
from portal.i18n import localized
from portal.language import gettext as _
from portal.organizations import queries, services
from portal.organizations.management_forms import AgreementForm, OrganizationForm
from portal.organizations.models import Agreement, AgreementStatus, OrganizationKind
from portal.organizations.views import STATUS_LABELS
from portal.pages import acting_person, on_refusal

blueprint = management_blueprint("organizations_manage", __name__)

#: A part of an MOU's page another area fills: the MOU and who is looking, to its HTML.
MouSection = Callable[[Agreement, Any], Markup]

_MOU_SECTIONS: dict[str, MouSection] = {}


def register_mou_section(name: str, section: MouSection) -> None:
    """Show ``section`` on every MOU's page, after those registered before it. Registering
    a name again replaces its section (each application the factory builds registers)."""
    _MOU_SECTIONS[name] = section


# --- organizations (staff) --------------------------------------------------------------------


@blueprint.get("/network/organizations")
def network_organizations() -> str:
    require_staff()
    return render_template(
        "organizations/manage/organizations.html", organizations=queries.organizations()
    )


@blueprint.route("/network/organizations/new", methods=["GET", "POST"])
def new_organization() -> Response | tuple[str, int]:
    require_staff()
    form = OrganizationForm()
    template = "organizations/manage/organization_form.html"
    if form.validate_on_submit():
        on_refusal(template, form=form, organization=None)
        details = details_from(form, services.OrganizationDetails)
        organization = services.create_organization(details, actor=acting_person())
        flash(
            _("%(name)s is added. Next, record its MOU.", name=organization.short_name),
            "success",
        )
        return redirect(url_for(".new_mou", partner=organization.id))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, organization=None), status


@blueprint.route("/network/organizations/<slug>/edit", methods=["GET", "POST"])
def edit_organization(slug: str) -> Response | tuple[str, int]:
    require_staff()
    organization = queries.get_organization(slug) or abort(404)
    form = OrganizationForm(obj=organization)
    template = "organizations/manage/organization_form.html"
    if form.validate_on_submit():
        on_refusal(template, form=form, organization=organization)
        details = details_from(form, services.OrganizationDetails)
        services.update_organization(organization, details, actor=acting_person())
        flash(_("%(name)s is saved.", name=organization.short_name), "success")
        return redirect(url_for(".network_organizations"))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, organization=organization), status


# --- MOUs -------------------------------------------------------------------------------------


@blueprint.get("/mous")
def mous() -> str:
    return render_template(
        "organizations/manage/mous.html",
        agreements=queries.agreements_for_admin(acting_person()),
    )


def _agreement(slug: str) -> Agreement:
    return queries.agreement_for_admin(acting_person(), slug) or abort(404)


def _agreement_form(agreement: Agreement | None = None) -> AgreementForm:
    form = AgreementForm(obj=agreement)
    partners = [o for o in queries.organizations() if o.kind == OrganizationKind.PARTNER]
    form.partner.choices = [SelectChoice(o.id, localized(o, "name")) for o in partners]
    form.status.choices = [SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()]
    if agreement is not None and request.method == "GET":
        form.partner.data = agreement.partner_id
    return form


@blueprint.route("/mous/new", methods=["GET", "POST"])
def new_mou() -> Response | tuple[str, int]:
    require_staff()
    form = _agreement_form()
    if request.method == "GET":
        form.partner.data = request.args.get("partner", type=int)
        form.status.data = AgreementStatus.ACTIVE.value
    template = "organizations/manage/mou_form.html"
    if form.validate_on_submit():
        on_refusal(template, form=form, agreement=None)
        details = details_from(form, services.AgreementDetails, partner_id=form.partner.data)
        agreement = services.create_agreement(details, actor=acting_person())
        flash(_("The MOU is recorded. Now add the services it promises."), "success")
        return redirect(url_for(".mou", slug=agreement.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, agreement=None), status


@blueprint.get("/mous/<slug>")
def mou(slug: str) -> str:
    agreement = _agreement(slug)
    actor = acting_person()
    return render_template(
        "organizations/manage/mou.html",
        agreement=agreement,
        sections=[section(agreement, actor) for section in _MOU_SECTIONS.values()],
    )


@blueprint.route("/mous/<slug>/edit", methods=["GET", "POST"])
def edit_mou(slug: str) -> Response | tuple[str, int]:
    require_staff()
    agreement = _agreement(slug)
    form = _agreement_form(agreement)
    template = "organizations/manage/mou_form.html"
    if form.validate_on_submit():
        form.partner.data = agreement.partner_id  # the parties never change
        on_refusal(template, form=form, agreement=agreement)
        details = details_from(form, services.AgreementDetails, partner_id=form.partner.data)
        services.update_agreement(agreement, details, actor=acting_person())
        flash(_("The MOU is saved."), "success")
        return redirect(url_for(".mou", slug=agreement.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, agreement=agreement), status
