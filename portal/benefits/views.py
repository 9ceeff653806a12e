"""The member's pages: the catalogue of reciprocal services, claiming, and their claims."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.accounts.consents import ConsentRequired
from portal.accounts.models import Person
from portal.accounts.views import agree_if_asked, consent_step
from portal.benefits import queries, services
from portal.benefits.forms import REDEMPTION_LABELS
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.i18n import localized
from portal.organizations.models import ReciprocalService, Redemption

blueprint = Blueprint("benefits", __name__, url_prefix="/benefits")

CLAIM_STATUS_LABELS = {
    ClaimStatus.REQUESTED: _l("Waiting for a decision"),
    ClaimStatus.APPROVED: _l("Granted"),
    ClaimStatus.REJECTED: _l("Refused"),
    ClaimStatus.FULFILLED: _l("Fulfilled"),
    ClaimStatus.CANCELLED: _l("Cancelled"),
}


@blueprint.app_template_global()
def claim_status_label(status: str) -> str:
    return str(CLAIM_STATUS_LABELS[ClaimStatus(status)])


@blueprint.app_template_global()
def redemption_label(redemption: str) -> str:
    return str(REDEMPTION_LABELS[Redemption(redemption)])


@blueprint.app_template_global()
def limit_text(service: ReciprocalService) -> str:
    return services.describe_limit(service)


@blueprint.app_template_global()
def local_date(value: datetime | None, timezone: str) -> date | None:
    """The day a stored UTC time falls on in ``timezone`` (rule 9)."""
    return value.astimezone(ZoneInfo(timezone)).date() if value else None


def _person() -> Person:
    return current_user._get_current_object()  # type: ignore[no-any-return]


@blueprint.after_request
def keep_out_of_caches(response: Response) -> Response:
    # Codes and claims are personal: never kept by a shared computer's browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("")
@login_required
def catalogue() -> str:
    return render_template(
        "benefits/catalogue.html",
        sections=queries.catalogue(_person()),
        form=ConfirmForm(),
    )


@blueprint.post("/services/<int:service_id>/claim")
@login_required
def claim(service_id: int) -> Response | str:
    service = queries.service_for_member(service_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for(".catalogue"))
    try:
        agree_if_asked(_person())
        made = services.claim_benefit(_person(), service)
    except ConsentRequired as needed:
        return consent_step(
            needed, cancel_url=url_for(".catalogue", _anchor=f"service-{service.id}")
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for(".catalogue"))
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
        "benefits/claims.html", claims=queries.claims_of(_person()), form=ConfirmForm()
    )


@blueprint.post("/claims/<int:claim_id>/cancel")
@login_required
def cancel(claim_id: int) -> Response:
    claim: BenefitClaim = queries.own_claim(_person(), claim_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            services.cancel_claim(claim, person=_person())
        except NotFound:
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("Your claim is cancelled."), "success")
    return redirect(url_for(".my_claims"))
