"""The member's pages: the catalogue of reciprocal services, claiming, and their claims."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from portal.accounts.consents import ConsentRequired
from portal.accounts.queries import services_opened_by
from portal.accounts.views import agree_if_asked, consent_step
from portal.benefits import queries, services
from portal.benefits.eligibility import describe_limit
from portal.benefits.management_forms import REDEMPTION_LABELS
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.forms import ConfirmForm
from portal.i18n import localized
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.language import lazy_pgettext
from portal.organizations.models import ReciprocalService, Redemption
from portal.pages import acting_person, on_refusal

blueprint = Blueprint("benefits", __name__, url_prefix="/benefits")

CLAIM_STATUS_LABELS = {
    ClaimStatus.REQUESTED: _l("Waiting for a decision"),
    ClaimStatus.APPROVED: _l("Granted"),
    ClaimStatus.REJECTED: _l("Refused"),
    ClaimStatus.FULFILLED: _l("Fulfilled"),
    ClaimStatus.CANCELLED: lazy_pgettext("claim status", "Cancelled"),
}


@blueprint.app_template_global()
def claim_status_label(status: str) -> str:
    return str(CLAIM_STATUS_LABELS[ClaimStatus(status)])


@blueprint.app_template_global()
def redemption_label(redemption: str) -> str:
    return str(REDEMPTION_LABELS[Redemption(redemption)])


@blueprint.app_template_global()
def limit_text(service: ReciprocalService) -> str:
    return describe_limit(service)


@blueprint.app_template_global()
def local_date(value: datetime | None, timezone: str) -> date | None:
    """The day a stored UTC time falls on in ``timezone`` (rule 9)."""
    return value.astimezone(ZoneInfo(timezone)).date() if value else None


@blueprint.after_request
def keep_out_of_caches(response: Response) -> Response:
    # Codes and claims are personal: never kept by a shared computer's browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("")
@login_required
def catalogue() -> str:
    person = acting_person()
    return render_template(
        "benefits/catalogue.html",
        sections=queries.catalogue(person),
        opened=services_opened_by(person),
        form=ConfirmForm(),
    )


@blueprint.post("/services/<int:service_id>/claim")
@login_required
def claim(service_id: int) -> Response | str:
    service = queries.service_for_member(service_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for(".catalogue"))
    on_refusal(to=url_for(".catalogue"))
    try:
        agree_if_asked(acting_person())
        made = services.claim_benefit(acting_person(), service)
    except ConsentRequired as needed:
        # Not a refusal: the member is shown the statement to agree to, then claims again.
        return consent_step(
            needed, cancel_url=url_for(".catalogue", _anchor=f"service-{service.id}")
        )
    title = localized(service, "title")
    if made.status == ClaimStatus.APPROVED:
        flash(_("Granted: %(title)s. See how to use it below.", title=title), "success")
    else:
        flash(
            _(
                "Your claim for %(title)s is sent. %(provider)s will decide; we will write to you.",
                title=title,
                provider=service.provider.short_name,
            ),
            "success",
        )
    return redirect(url_for(".my_claims", _anchor=f"claim-{made.id}"))


@blueprint.get("/claims")
@login_required
def my_claims() -> str:
    return render_template(
        "benefits/claims.html", claims=queries.claims_of(acting_person()), form=ConfirmForm()
    )


@blueprint.post("/claims/<int:claim_id>/cancel")
@login_required
def cancel(claim_id: int) -> Response:
    claim: BenefitClaim = queries.own_claim(acting_person(), claim_id) or abort(404)
    back = url_for(".my_claims")
    if ConfirmForm().validate_on_submit():
        on_refusal(to=back)
        services.cancel_claim(claim, person=acting_person())
        flash(_("Your claim is cancelled."), "success")
    return redirect(back)
