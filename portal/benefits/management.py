"""Admin pages of the network and its benefits, on the ``admin`` blueprint (its one role check).

Staff manage organizations and MOUs; staff and the provider's partner admin manage an MOU's
services and code pools; the provider decides claims (staff for LINK-J's); staff see the
reciprocity report of every MOU, a partner admin that of their own. Records outside the
actor's scope are None from ``portal.benefits.queries``, so they answer 404 (rule 4).
"""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.accounts.memberships import today
from portal.admin import forms as admin_forms
from portal.admin.views import _actor, _page, _refused, _require_staff, blueprint
from portal.benefits import forms, queries, report, services
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.errors import DomainError, InvalidInput
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.i18n import localized, person_name
from portal.organizations import services as network
from portal.organizations.models import (
    Agreement,
    AgreementStatus,
    OrganizationKind,
    ReciprocalService,
    ServiceCategory,
)
from portal.organizations.queries import get_hub
from portal.organizations.views import CATEGORY_LABELS, STATUS_LABELS

CLAIM_FILTER_LABELS = {
    "requested": _l("Waiting for a decision"),
    "approved": _l("Granted"),
    "fulfilled": _l("Fulfilled"),
    "rejected": _l("Refused"),
    "cancelled": _l("Cancelled"),
    "all": _l("All"),
}

PERIOD_LABELS = {"quarter": _l("Quarters of one year"), "year": _l("Years")}


def _fail(form: object, error: DomainError) -> None:
    """A refusal from a service: beside its field when it names one, else at the top."""
    field = getattr(form, error.field, None) if isinstance(error, InvalidInput) else None
    if field is not None and error.field:
        db.session.rollback()
        field.errors = [*field.errors, error.message]
        return
    _refused(error)


# --- organizations (staff) --------------------------------------------------------------------


@blueprint.get("/network/organizations")
def network_organizations() -> str:
    _require_staff()
    return render_template("admin/organizations.html", organizations=queries.organizations())


def _organization_details(form: admin_forms.OrganizationForm) -> network.OrganizationDetails:
    return network.OrganizationDetails(
        slug=form.slug.data or "",
        short_name=form.short_name.data or "",
        name_en=form.name_en.data or "",
        name_ja=form.name_ja.data or "",
        country=form.country.data or "",
        city_en=form.city_en.data or "",
        city_ja=form.city_ja.data or "",
        website=form.website.data or None,
        timezone=form.timezone.data or "",
        default_currency=form.default_currency.data or "",
        membership_year_end_month=form.membership_year_end_month.data or 0,
        description_en=form.description_en.data or "",
        description_ja=form.description_ja.data or "",
    )


@blueprint.route("/network/organizations/new", methods=["GET", "POST"])
def new_organization() -> Response | tuple[str, int]:
    _require_staff()
    form = admin_forms.OrganizationForm()
    status = 200
    if form.validate_on_submit():
        try:
            organization = network.create_organization(_organization_details(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(
                _("%(name)s is added. Next, record its MOU.", name=organization.short_name),
                "success",
            )
            return redirect(url_for(".new_mou", partner=organization.id))
    elif form.is_submitted():
        status = 400
    return render_template("admin/organization_form.html", form=form, organization=None), status


@blueprint.route("/network/organizations/<slug>/edit", methods=["GET", "POST"])
def edit_organization(slug: str) -> Response | tuple[str, int]:
    _require_staff()
    organization = queries.organization_by_slug(slug) or abort(404)
    form = admin_forms.OrganizationForm(obj=organization)
    status = 200
    if form.validate_on_submit():
        try:
            network.update_organization(organization, _organization_details(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(_("%(name)s is saved.", name=organization.short_name), "success")
            return redirect(url_for(".network_organizations"))
    elif form.is_submitted():
        status = 400
    return render_template(
        "admin/organization_form.html", form=form, organization=organization
    ), status


# --- MOUs -------------------------------------------------------------------------------------


@blueprint.get("/mous")
def mous() -> str:
    return render_template("admin/mous.html", agreements=queries.agreements_for_admin(_actor()))


def _agreement(slug: str) -> Agreement:
    return queries.agreement_for_admin(_actor(), slug) or abort(404)


def _agreement_form(agreement: Agreement | None = None) -> admin_forms.AgreementForm:
    form = admin_forms.AgreementForm(obj=agreement)
    partners = [o for o in queries.organizations() if o.kind == OrganizationKind.PARTNER]
    form.partner.choices = [SelectChoice(o.id, localized(o, "name")) for o in partners]
    form.status.choices = [SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()]
    if agreement is not None and request.method == "GET":
        form.partner.data = agreement.partner_id
    return form


def _agreement_details(form: admin_forms.AgreementForm) -> network.AgreementDetails:
    return network.AgreementDetails(
        partner_id=form.partner.data,
        signed_on=form.signed_on.data,
        status=form.status.data or "",
        valid_until=form.valid_until.data,
        document_url=form.document_url.data or None,
        summary_en=form.summary_en.data or "",
        summary_ja=form.summary_ja.data or "",
    )


@blueprint.route("/mous/new", methods=["GET", "POST"])
def new_mou() -> Response | tuple[str, int]:
    _require_staff()
    form = _agreement_form()
    if request.method == "GET":
        form.partner.data = request.args.get("partner", type=int)
        form.status.data = AgreementStatus.ACTIVE.value
    status = 200
    if form.validate_on_submit():
        try:
            agreement = network.create_agreement(_agreement_details(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(_("The MOU is recorded. Now add the services it promises."), "success")
            return redirect(url_for(".mou", slug=agreement.slug))
    elif form.is_submitted():
        status = 400
    return render_template("admin/mou_form.html", form=form, agreement=None), status


@blueprint.get("/mous/<slug>")
def mou(slug: str) -> str:
    agreement = _agreement(slug)
    actor = _actor()
    services_ = agreement.services
    pools = services.pool_counts(s.id for s in services_ if s.redemption == "code_pool")
    directions = [
        (provider, beneficiary, [s for s in services_ if s.provider_id == provider.id])
        for provider, beneficiary in (
            (agreement.partner, agreement.hub),
            (agreement.hub, agreement.partner),
        )
    ]
    return render_template(
        "admin/mou.html",
        agreement=agreement,
        directions=directions,
        pools=pools,
        can_manage={
            agreement.hub_id: network.can_manage_services_of(actor, agreement.hub_id),
            agreement.partner_id: network.can_manage_services_of(actor, agreement.partner_id),
        },
        delete_form=ConfirmForm(),
    )


@blueprint.route("/mous/<slug>/edit", methods=["GET", "POST"])
def edit_mou(slug: str) -> Response | tuple[str, int]:
    _require_staff()
    agreement = _agreement(slug)
    form = _agreement_form(agreement)
    status = 200
    if form.validate_on_submit():
        form.partner.data = agreement.partner_id  # the parties never change
        try:
            network.update_agreement(agreement, _agreement_details(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(_("The MOU is saved."), "success")
            return redirect(url_for(".mou", slug=agreement.slug))
    elif form.is_submitted():
        status = 400
    return render_template("admin/mou_form.html", form=form, agreement=agreement), status


# --- services of an MOU -----------------------------------------------------------------------


def _service_form(
    agreement: Agreement, service: ReciprocalService | None = None
) -> forms.ServiceForm:
    actor = _actor()
    form = forms.ServiceForm(obj=service)
    providers = [
        party
        for party in (agreement.partner, agreement.hub)
        if network.can_manage_services_of(actor, party.id)
    ]
    if not providers:
        abort(404)
    form.provider.choices = [
        SelectChoice(
            p.id,
            _(
                "%(provider)s, for %(beneficiary)s members",
                provider=p.short_name,
                beneficiary=(
                    agreement.hub if p.id == agreement.partner_id else agreement.partner
                ).short_name,
            ),
        )
        for p in providers
    ]
    form.category.choices = [SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()]
    if request.method == "GET":
        if service is not None:
            form.provider.data = service.provider_id
        else:
            form.provider.data = request.args.get("provider", type=int) or providers[0].id
            form.category.data = ServiceCategory.MEMBER_SERVICES.value
    return form


def _terms(form: forms.ServiceForm) -> network.ServiceTerms:
    return network.ServiceTerms(
        provider_id=form.provider.data,
        category=form.category.data or "",
        title_en=form.title_en.data or "",
        title_ja=form.title_ja.data or "",
        description_en=form.description_en.data or "",
        description_ja=form.description_ja.data or "",
        claimable=bool(form.claimable.data),
        requires_approval=bool(form.requires_approval.data),
        limit_per_member=form.limit_per_member.data,
        limit_period=form.limit_period.data or "",
        valid_from=form.valid_from.data,
        valid_until=form.valid_until.data,
        redemption=form.redemption.data or "",
        redemption_instructions_en=form.redemption_instructions_en.data or "",
        redemption_instructions_ja=form.redemption_instructions_ja.data or "",
        shared_code=form.shared_code.data or None,
    )


@blueprint.route("/mous/<slug>/services/new", methods=["GET", "POST"])
def new_service(slug: str) -> Response | tuple[str, int]:
    agreement = _agreement(slug)
    form = _service_form(agreement)
    status = 200
    if form.validate_on_submit():
        try:
            service = network.create_service(agreement, _terms(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(_("“%(title)s” is added.", title=localized(service, "title")), "success")
            if service.redemption == "code_pool":
                return redirect(url_for(".service_codes", service_id=service.id))
            return redirect(url_for(".mou", slug=agreement.slug))
    elif form.is_submitted():
        status = 400
    return render_template(
        "admin/service_form.html", form=form, agreement=agreement, service=None
    ), status


def _service(service_id: int) -> ReciprocalService:
    return queries.service_for_admin(_actor(), service_id) or abort(404)


@blueprint.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
def edit_service(service_id: int) -> Response | tuple[str, int]:
    service = _service(service_id)
    agreement = service.agreement
    form = _service_form(agreement, service)
    status = 200
    if form.validate_on_submit():
        try:
            network.update_service(service, _terms(form), actor=_actor())
        except DomainError as error:
            _fail(form, error)
            status = 400
        else:
            flash(_("“%(title)s” is saved.", title=localized(service, "title")), "success")
            return redirect(url_for(".mou", slug=agreement.slug))
    elif form.is_submitted():
        status = 400
    return render_template(
        "admin/service_form.html", form=form, agreement=agreement, service=service
    ), status


@blueprint.post("/services/<int:service_id>/delete")
def delete_service(service_id: int) -> Response:
    service = _service(service_id)
    slug, title = service.agreement.slug, localized(service, "title")
    if ConfirmForm().validate_on_submit():
        try:
            network.delete_service(service, actor=_actor())
        except DomainError as error:
            _refused(error)
        else:
            flash(_("“%(title)s” is deleted.", title=title), "success")
    return redirect(url_for(".mou", slug=slug))


@blueprint.route("/services/<int:service_id>/codes", methods=["GET", "POST"])
def service_codes(service_id: int) -> Response | tuple[str, int]:
    service = _service(service_id)
    form = forms.CodeUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.codes.data
        try:
            added = services.import_codes(
                service, upload.read(), actor=_actor(), filename=upload.filename or ""
            )
        except DomainError as error:
            _refused(error)
            status = 400
        else:
            flash(_("%(num)d codes added to the pool.", num=added), "success")
            return redirect(url_for(".service_codes", service_id=service.id))
    elif form.is_submitted():
        status = 400
    total, given = services.pool_counts([service.id]).get(service.id, (0, 0))
    return render_template(
        "admin/codes.html", service=service, form=form, total=total, given=given
    ), status


# --- claims -----------------------------------------------------------------------------------


@blueprint.get("/claims")
def claims() -> str:
    status = request.args.get("status", "requested")
    if status not in queries.CLAIM_FILTERS:
        status = "requested"
    return render_template(
        "admin/claims.html",
        status=status,
        filters=queries.CLAIM_FILTERS,
        filter_labels=CLAIM_FILTER_LABELS,
        pagination=queries.claims_for_admin(_actor(), status=status, page=_page()),
    )


def _claim(claim_id: int) -> BenefitClaim:
    return queries.claim_for_admin(_actor(), claim_id) or abort(404)


def _render_claim(
    claim: BenefitClaim,
    *,
    approve_form: forms.ApproveClaimForm | None = None,
    reject_form: forms.RejectClaimForm | None = None,
) -> str:
    service = claim.service
    can_decide = services.can_decide_claims(_actor(), service.provider)
    verdict = None
    if can_decide and claim.status == ClaimStatus.REQUESTED:
        approve_form = approve_form or forms.ApproveClaimForm()
        reject_form = reject_form or forms.RejectClaimForm()
        verdict = services.eligibility(claim.person, service, ignoring=claim)
    return render_template(
        "admin/claim.html",
        claim=claim,
        service=service,
        history=queries.claim_history(claim),
        can_decide=can_decide,
        verdict=verdict,
        approve_form=approve_form if can_decide else None,
        reject_form=reject_form if can_decide else None,
        fulfil_form=forms.FulfilClaimForm()
        if can_decide and claim.status == ClaimStatus.APPROVED
        else None,
    )


@blueprint.get("/claims/<int:claim_id>")
def claim(claim_id: int) -> str:
    return _render_claim(_claim(claim_id))


@blueprint.post("/claims/<int:claim_id>/approve")
def approve_claim(claim_id: int) -> Response | tuple[str, int]:
    claim = _claim(claim_id)
    form = forms.ApproveClaimForm()
    if not form.validate_on_submit():
        return _render_claim(claim, approve_form=form), 400
    try:
        services.approve_claim(claim, actor=_actor(), note=form.note.data or "")
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "The claim of %(name)s is approved; they are told by mail.",
                name=person_name(claim.person),
            ),
            "success",
        )
    return redirect(url_for(".claim", claim_id=claim.id))


@blueprint.post("/claims/<int:claim_id>/reject")
def reject_claim(claim_id: int) -> Response | tuple[str, int]:
    claim = _claim(claim_id)
    form = forms.RejectClaimForm()
    if not form.validate_on_submit():
        return _render_claim(claim, reject_form=form), 400
    try:
        services.reject_claim(claim, actor=_actor(), reason=form.reason.data or "")
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "The claim of %(name)s is refused; they are told the reason by mail.",
                name=person_name(claim.person),
            ),
            "success",
        )
    return redirect(url_for(".claim", claim_id=claim.id))


@blueprint.post("/claims/<int:claim_id>/fulfil")
def fulfil_claim(claim_id: int) -> Response:
    claim = _claim(claim_id)
    form = forms.FulfilClaimForm()
    if form.validate_on_submit():
        try:
            services.fulfil_claim(claim, actor=_actor(), note=form.note.data or "")
        except DomainError as error:
            _refused(error)
        else:
            flash(_("The claim is marked as fulfilled."), "success")
    return redirect(url_for(".claim", claim_id=claim.id))


# --- the reciprocity report -------------------------------------------------------------------


def _report() -> tuple[report.Report, forms.ReportFilterForm, Agreement | None]:
    actor = _actor()
    hub = get_hub()
    timezone = hub.timezone if hub else "Asia/Tokyo"
    current_year = today(hub).year
    agreements = queries.agreements_for_admin(actor)
    form = forms.ReportFilterForm(formdata=request.args)
    form.period.choices = [SelectChoice(k, PERIOD_LABELS[k]) for k in report.PERIOD_KINDS]
    form.mou.choices = [SelectChoice("", _("Every MOU"))] + [
        SelectChoice(
            a.slug,
            _("%(hub)s–%(partner)s", hub=a.hub.short_name, partner=a.partner.short_name),
        )
        for a in agreements
    ]
    kind = request.args.get("period", "quarter")
    if kind not in report.PERIOD_KINDS:
        kind = "quarter"
    year = request.args.get("year", type=int) or current_year
    if not 2000 <= year <= current_year + 1:
        year = current_year
    slug = request.args.get("mou", "")
    chosen = None
    if slug:
        # Another organization's MOU does not exist for this actor (rule 4).
        chosen = next((a for a in agreements if a.slug == slug), None) or abort(404)
        agreements = [chosen]
    form.period.data, form.year.data, form.mou.data = kind, year, slug
    result = report.reciprocity_report(agreements, kind=kind, year=year, timezone=timezone)  # type: ignore[arg-type]
    return result, form, chosen


@blueprint.get("/report")
def reciprocity_report() -> str:
    result, form, chosen = _report()
    return render_template(
        "admin/report.html",
        report=result,
        chart=report.chart(result),
        form=form,
        chosen=chosen,
    )


@blueprint.get("/report.csv")
def reciprocity_report_csv() -> FlaskResponse:
    result, _form, chosen = _report()
    name = f"reciprocity-{chosen.slug if chosen else 'all'}-{result.kind}-{result.year}.csv"
    return FlaskResponse(
        report.to_csv(result).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
