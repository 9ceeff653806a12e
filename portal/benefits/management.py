"""Management pages of the benefits: staff and the provider's partner admin set up an MOU's
services and code pools; the provider decides claims (staff for LINK-J's); staff see the
reciprocity report of every MOU, a partner admin that of their own. Records outside the
actor's scope are None from the scoped queries, so they answer 404 (rule 4).

An MOU's page belongs to the organizations area; the services on it are this module's
``mou_services``, which the app factory registers there.
"""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.accounts.memberships import today
from portal.accounts.models import Person
from portal.admin.access import management_blueprint
from portal.benefits import catalogue, codes, queries, report, services
from portal.benefits.eligibility import eligibility
from portal.benefits.management_forms import (
    ApproveClaimForm,
    CodeUploadForm,
    FulfilClaimForm,
    RejectClaimForm,
    ReportFilterForm,
    ServiceForm,
)
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.forms import ConfirmForm, details_from
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.language import lazy_pgettext
from portal.organizations.models import Agreement, ReciprocalService, ServiceCategory
from portal.organizations.queries import agreement_for_admin, agreements_for_admin, get_hub
from portal.organizations.views import CATEGORY_LABELS
from portal.pages import acting_person, on_refusal, page_number

blueprint = management_blueprint("benefits_manage", __name__)

CLAIM_FILTER_LABELS = {
    "requested": _l("Waiting for a decision"),
    "approved": _l("Granted"),
    "fulfilled": _l("Fulfilled"),
    "rejected": _l("Refused"),
    "cancelled": lazy_pgettext("claim status", "Cancelled"),
    "all": _l("All"),
}

PERIOD_LABELS = {"quarter": _l("Quarters of one year"), "year": _l("Years")}


# --- services of an MOU -----------------------------------------------------------------------


def mou_services(agreement: Agreement, actor: Person) -> Markup:
    """The services the MOU promises, in each direction, with their code pools and the links
    to manage them where the actor may (a section of the MOU's management page)."""
    services_ = agreement.services
    directions = [
        (provider, beneficiary, [s for s in services_ if s.provider_id == provider.id])
        for provider, beneficiary in (
            (agreement.partner, agreement.hub),
            (agreement.hub, agreement.partner),
        )
    ]
    html = render_template(
        "benefits/manage/_mou_services.html",
        agreement=agreement,
        directions=directions,
        pools=codes.pool_counts(s.id for s in services_ if s.redemption == "code_pool"),
        can_manage={
            party: catalogue.can_manage_services_of(actor, party)
            for party in (agreement.hub_id, agreement.partner_id)
        },
    )
    return Markup(html)  # noqa: S704 - rendered by Jinja, which escaped what it put in


def _service_form(agreement: Agreement, service: ReciprocalService | None = None) -> ServiceForm:
    actor = acting_person()
    form = ServiceForm(obj=service)
    providers = [
        party
        for party in (agreement.partner, agreement.hub)
        if catalogue.can_manage_services_of(actor, party.id)
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


def _terms(form: ServiceForm) -> catalogue.ServiceTerms:
    return details_from(form, catalogue.ServiceTerms, provider_id=form.provider.data)


@blueprint.route("/mous/<slug>/services/new", methods=["GET", "POST"])
def new_service(slug: str) -> Response | tuple[str, int]:
    agreement = agreement_for_admin(acting_person(), slug) or abort(404)
    form = _service_form(agreement)
    template = "benefits/manage/service_form.html"
    if form.validate_on_submit():
        on_refusal(template, form=form, agreement=agreement, service=None)
        service = catalogue.create_service(agreement, _terms(form), actor=acting_person())
        flash(_("“%(title)s” is added.", title=localized(service, "title")), "success")
        if service.redemption == "code_pool":
            return redirect(url_for(".service_codes", service_id=service.id))
        return redirect(url_for("organizations_manage.mou", slug=agreement.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, agreement=agreement, service=None), status


def _service(service_id: int) -> ReciprocalService:
    return queries.service_for_admin(acting_person(), service_id) or abort(404)


@blueprint.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
def edit_service(service_id: int) -> Response | tuple[str, int]:
    service = _service(service_id)
    agreement = service.agreement
    form = _service_form(agreement, service)
    template = "benefits/manage/service_form.html"
    if form.validate_on_submit():
        on_refusal(template, form=form, agreement=agreement, service=service)
        catalogue.update_service(service, _terms(form), actor=acting_person())
        flash(_("“%(title)s” is saved.", title=localized(service, "title")), "success")
        return redirect(url_for("organizations_manage.mou", slug=agreement.slug))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, agreement=agreement, service=service), status


@blueprint.post("/services/<int:service_id>/delete")
def delete_service(service_id: int) -> Response:
    service = _service(service_id)
    slug, title = service.agreement.slug, localized(service, "title")
    back = url_for("organizations_manage.mou", slug=slug)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=back)
        catalogue.delete_service(service, actor=acting_person())
        flash(_("“%(title)s” is deleted.", title=title), "success")
    return redirect(back)


@blueprint.route("/services/<int:service_id>/codes", methods=["GET", "POST"])
def service_codes(service_id: int) -> Response | tuple[str, int]:
    service = _service(service_id)
    form = CodeUploadForm()
    total, given = codes.pool_counts([service.id]).get(service.id, (0, 0))
    page = {"service": service, "form": form, "total": total, "given": given}
    template = "benefits/manage/codes.html"
    if form.validate_on_submit():
        on_refusal(template, **page)
        upload = form.codes.data
        added = codes.import_codes(
            service, upload.read(), actor=acting_person(), filename=upload.filename or ""
        )
        flash(_("%(num)d codes added to the pool.", num=added), "success")
        return redirect(url_for(".service_codes", service_id=service.id))
    status = 400 if form.is_submitted() else 200
    return render_template(template, **page), status


# --- claims -----------------------------------------------------------------------------------


@blueprint.get("/claims")
def claims() -> str:
    status = request.args.get("status", "requested")
    if status not in queries.CLAIM_FILTERS:
        status = "requested"
    return render_template(
        "benefits/manage/claims.html",
        status=status,
        filters=queries.CLAIM_FILTERS,
        filter_labels=CLAIM_FILTER_LABELS,
        pagination=queries.claims_for_admin(acting_person(), status=status, page=page_number()),
    )


def _claim(claim_id: int) -> BenefitClaim:
    return queries.claim_for_admin(acting_person(), claim_id) or abort(404)


def _render_claim(
    claim: BenefitClaim,
    *,
    approve_form: ApproveClaimForm | None = None,
    reject_form: RejectClaimForm | None = None,
) -> str:
    service = claim.service
    can_decide = services.can_decide_claims(acting_person(), service.provider)
    verdict = None
    if can_decide and claim.status == ClaimStatus.REQUESTED:
        approve_form = approve_form or ApproveClaimForm()
        reject_form = reject_form or RejectClaimForm()
        verdict = eligibility(claim.person, service, ignoring=claim)
    return render_template(
        "benefits/manage/claim.html",
        claim=claim,
        service=service,
        history=queries.claim_history(claim),
        can_decide=can_decide,
        verdict=verdict,
        approve_form=approve_form if can_decide else None,
        reject_form=reject_form if can_decide else None,
        fulfil_form=FulfilClaimForm()
        if can_decide and claim.status == ClaimStatus.APPROVED
        else None,
    )


@blueprint.get("/claims/<int:claim_id>")
def claim(claim_id: int) -> str:
    return _render_claim(_claim(claim_id))


@blueprint.post("/claims/<int:claim_id>/approve")
def approve_claim(claim_id: int) -> Response | tuple[str, int]:
    claim = _claim(claim_id)
    form = ApproveClaimForm()
    if not form.validate_on_submit():
        return _render_claim(claim, approve_form=form), 400
    back = url_for(".claim", claim_id=claim.id)
    on_refusal(to=back)
    services.approve_claim(claim, actor=acting_person(), note=form.note.data or "")
    flash(
        _(
            "The claim of %(name)s is approved; they are told by mail.",
            name=person_name(claim.person),
        ),
        "success",
    )
    return redirect(back)


@blueprint.post("/claims/<int:claim_id>/reject")
def reject_claim(claim_id: int) -> Response | tuple[str, int]:
    claim = _claim(claim_id)
    form = RejectClaimForm()
    if not form.validate_on_submit():
        return _render_claim(claim, reject_form=form), 400
    back = url_for(".claim", claim_id=claim.id)
    on_refusal(to=back)
    services.reject_claim(claim, actor=acting_person(), reason=form.reason.data or "")
    flash(
        _(
            "The claim of %(name)s is refused; they are told the reason by mail.",
            name=person_name(claim.person),
        ),
        "success",
    )
    return redirect(back)


@blueprint.post("/claims/<int:claim_id>/fulfil")
def fulfil_claim(claim_id: int) -> Response:
    claim = _claim(claim_id)
    form = FulfilClaimForm()
    back = url_for(".claim", claim_id=claim.id)
    if form.validate_on_submit():
        on_refusal(to=back)
        services.fulfil_claim(claim, actor=acting_person(), note=form.note.data or "")
        flash(_("The claim is marked as fulfilled."), "success")
    return redirect(back)


# --- the reciprocity report -------------------------------------------------------------------


def _report() -> tuple[report.Report, ReportFilterForm, Agreement | None]:
    actor = acting_person()
    hub = get_hub()
    timezone = hub.timezone if hub else "Asia/Tokyo"
    current_year = today(hub).year
    agreements = agreements_for_admin(actor)
    form = ReportFilterForm(formdata=request.args)
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
    # A link, not a script: the table hides directions without claims with ?nonempty=1.
    hide_empty = request.args.get("nonempty") == "1"
    return render_template(
        "benefits/manage/report.html",
        report=result,
        chart=report.chart(result),
        timeline=report.timeline(result),
        hide_empty=hide_empty,
        shown_rows=[r for r in result.rows if report.has_claims(r)] if hide_empty else result.rows,
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
