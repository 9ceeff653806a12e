"""The member's dues pages: plans, applying, orientation, paying, plan change, resigning and
the membership card (``/membership``)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from portal.dues import applying, changes, charging, plans
from portal.dues.card import card_pdf, card_svg, card_token
from portal.dues.forms import ApplicationForm, PlanChangeForm, ResignForm, SlotChoiceForm
from portal.dues.labels import register_labels
from portal.dues.models import ChargeStatus, DuesCharge, DuesPlan, MembershipApplication, PlanKind
from portal.dues.queries import applications_of, charges_of
from portal.dues.terms import TERMS_VERSION
from portal.extensions import db
from portal.i18n import current_language, localized
from portal.language import gettext as _
from portal.pages import acting_person, on_refusal, own_or_404
from portal.payments.checkout_page import card_page
from portal.payments.models import PaymentStatus
from portal.payments.states import PaymentServiceUnavailable

blueprint = Blueprint("dues", __name__, url_prefix="/membership")
register_labels(blueprint)


@blueprint.get("/plans")
def plan_list() -> str:
    return render_template("dues/plans.html", plans=plans.plans(open_only=True))


def _plan(code: str) -> DuesPlan:
    plan = next((p for p in plans.plans(open_only=True) if p.code == code.upper()), None)
    if plan is None:
        abort(404)
    return plan


@blueprint.route("/apply/<code>", methods=["GET", "POST"])
@login_required
def apply(code: str) -> str | BaseResponse | tuple[str, int]:
    plan = _plan(code)
    form = ApplicationForm()
    page = {"plan": plan, "form": form, "terms_version": TERMS_VERSION}
    if not form.is_submitted():
        return render_template("dues/apply.html", **page)
    on_refusal("dues/apply.html", **page)
    if not form.validate():
        return render_template("dues/apply.html", **page), 400
    application = applying.submit_application(
        acting_person(),
        plan,
        form.details(),
        terms_version=TERMS_VERSION if form.agree.data else None,
    )
    flash(_("Thank you: your application is received."), "success")
    return redirect(url_for("dues.application", application_id=application.id))


def _own_application(application_id: int) -> MembershipApplication:
    return own_or_404(MembershipApplication, application_id)


@blueprint.get("/applications/<int:application_id>")
@login_required
def application(application_id: int) -> str:
    application = _own_application(application_id)
    form = ApplicationForm(obj=application)
    choice = SlotChoiceForm()
    choice.slot.choices = [SelectChoice(slot.id, "") for slot in application.slots]
    return render_template(
        "dues/application.html", application=application, form=form, choice=choice
    )


@blueprint.post("/applications/<int:application_id>/edit")
@login_required
def edit_application(application_id: int) -> BaseResponse:
    application = _own_application(application_id)
    form = ApplicationForm()
    on_refusal(to=url_for("dues.application", application_id=application_id))
    applying.update_application(application, acting_person(), form.details())
    flash(_("Your application is sent back to the secretariat."), "success")
    return redirect(url_for("dues.application", application_id=application_id))


@blueprint.post("/applications/<int:application_id>/slot")
@login_required
def choose_slot(application_id: int) -> BaseResponse:
    application = _own_application(application_id)
    form = SlotChoiceForm()
    on_refusal(to=url_for("dues.application", application_id=application_id))
    applying.choose_slot(
        application, int(form.slot.raw_data[0]) if form.slot.raw_data else 0, person=acting_person()
    )
    flash(_("Your orientation is booked."), "success")
    return redirect(url_for("dues.application", application_id=application_id))


@blueprint.get("/applications/<int:application_id>/orientation.ics")
@login_required
def orientation_ics(application_id: int) -> Response:
    application = _own_application(application_id)
    slot = application.chosen_slot
    if slot is None:
        abort(404)
    # icalendar is imported when a calendar is drawn, as in events.calendar.
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    calendar = Calendar()
    calendar.add("prodid", "-//LINK-J//Partner Portal//EN")
    calendar.add("version", "2.0")
    entry = CalendarEvent()
    entry.add("uid", f"orientation-{application.id}-{slot.id}@link-j")
    entry.add("dtstamp", slot.starts_at)
    entry.add("dtstart", slot.starts_at)
    entry.add("dtend", slot.starts_at + timedelta(minutes=slot.minutes))
    entry.add("summary", "LINK-J オリエンテーション / LINK-J orientation")
    entry.add("location", slot.place or "")
    calendar.add_component(entry)
    return Response(
        calendar.to_ical(),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="linkj-orientation.ics"'},
    )


@blueprint.get("")
@login_required
def mine() -> str:
    person = acting_person()
    member_plan = changes.current_member_plan(person)
    change_form = PlanChangeForm()
    choices = []
    if member_plan is not None:
        choices = [
            SelectChoice(p.id, localized(p, "name"))
            for p in plans.plans(open_only=True)
            if p.kind == member_plan.plan.kind and p.id != member_plan.plan_id
        ]
    change_form.plan.choices = choices
    return render_template(
        "dues/mine.html",
        member_plan=member_plan,
        charges=charges_of(member_plan) if member_plan else [],
        applications=applications_of(person),
        invoice_of=charging.charge_invoice,
        change_form=change_form,
        resign_form=ResignForm(),
    )


def _own_charge(charge_id: int) -> DuesCharge:
    return own_or_404(DuesCharge, charge_id, owner=lambda charge: charge.member_plan.person_id)


@blueprint.post("/charges/<int:charge_id>/card")
@login_required
def pay_card(charge_id: int) -> Response:
    charge = _own_charge(charge_id)
    on_refusal(to=url_for("dues.mine"))
    if charge.plan.kind != PlanKind.INDIVIDUAL:
        abort(404)
    checkout = charging.pay_by_card(charge, person=acting_person())
    return card_page(
        checkout,
        description=charging.describe(checkout.payment),
        return_url=url_for("dues.card_return", charge_id=charge_id, _external=True),
    )


@blueprint.get("/charges/<int:charge_id>/return")
@login_required
def card_return(charge_id: int) -> BaseResponse:
    charge = _own_charge(charge_id)
    on_refusal(to=url_for("dues.mine"))
    try:
        payment = charging.confirm_card_return(charge, person=acting_person())
    except PaymentServiceUnavailable as error:
        flash(error.message, "warning")
        return redirect(url_for("dues.mine"))
    db.session.refresh(charge)
    if charge.status == ChargeStatus.PAID:
        flash(_("Thank you: your dues are received."), "success")
    elif payment is not None and payment.status == PaymentStatus.FAILED:
        flash(
            _(
                "The card was declined (%(reason)s). Try another card.",
                reason=payment.failure_reason,
            ),
            "error",
        )
    else:
        flash(
            _("Your payment is being processed; this page will show it once Stripe confirms."),
            "info",
        )
    return redirect(url_for("dues.mine"))


@blueprint.post("/plan")
@login_required
def change_plan() -> BaseResponse:
    person = acting_person()
    member_plan = changes.current_member_plan(person)
    form = PlanChangeForm()
    new_plan = db.session.get(DuesPlan, form.plan.raw_data[0] if form.plan.raw_data else 0)
    if member_plan is None or new_plan is None or not new_plan.open_for_applications:
        abort(404)
    on_refusal(to=url_for("dues.mine"))
    charge = changes.change_plan(member_plan, new_plan, person=person, at_once=form.at_once.data)
    if charge is None:
        flash(_("Your plan changes from next fiscal year."), "success")
    else:
        flash(_("Your plan is changed; the difference is now due."), "success")
    return redirect(url_for("dues.mine"))


@blueprint.post("/resign")
@login_required
def resign() -> BaseResponse:
    person = acting_person()
    member_plan = changes.current_member_plan(person)
    if member_plan is None:
        abort(404)
    form = ResignForm()
    if (form.confirm.data or "").strip().upper() != "RESIGN":
        flash(_("Type RESIGN to confirm."), "error")
        return redirect(url_for("dues.mine"))
    on_refusal(to=url_for("dues.mine"))
    changes.resign(member_plan, person=person)
    flash(_("Your resignation is recorded."), "success")
    return redirect(url_for("dues.mine"))


def _card_member():  # noqa: ANN202
    member_plan = changes.current_member_plan(acting_person())
    if member_plan is None or member_plan.paid_through is None:
        abort(404)
    return member_plan


@blueprint.get("/card")
@login_required
def card() -> str:
    member_plan = _card_member()
    lookup = url_for("dues_manage.card_lookup", token=card_token(member_plan), _external=True)
    return render_template("dues/card.html", member_plan=member_plan, qr_svg=card_svg(lookup))


@blueprint.get("/card.pdf")
@login_required
def card_download() -> Response:
    member_plan = _card_member()
    lookup = url_for("dues_manage.card_lookup", token=card_token(member_plan), _external=True)
    current_app.logger.debug("card PDF for member plan %s", member_plan.id)
    return Response(
        card_pdf(member_plan, lookup, current_language()),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{member_plan.number}.pdf"'},
    )
