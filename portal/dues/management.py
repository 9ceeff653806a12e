"""Staff's dues pages under /admin/dues: plans, the application queue, dues by fiscal year
(with the accountants' CSV), members by plan over time, and the membership card lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from portal.admin.access import management_blueprint, require_staff
from portal.csvfile import csv_text
from portal.dues import applying, plans, queries
from portal.dues.card import member_from_code, member_from_token
from portal.dues.charging import charge_invoice
from portal.dues.fiscal import fiscal_year_of
from portal.dues.management_forms import MessageForm, PlanForm, ReasonForm, SlotsForm
from portal.dues.models import DuesPlan, MembershipApplication
from portal.errors import InvalidInput
from portal.extensions import db
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.money import amount_text, to_decimal
from portal.pages import acting_person, on_refusal
from portal.payments.states import TOKYO, tokyo_today

blueprint = management_blueprint("dues_manage", __name__, url_prefix="/admin/dues")
# LINK-J's own membership is the secretariat's: partner admins see none of it.
blueprint.before_request(require_staff)


@blueprint.get("/plans")
def plan_list() -> str:
    return render_template("dues/manage/plans.html", plans=plans.plans())


@blueprint.route("/plans/new", methods=["GET", "POST"], defaults={"plan_id": None})
@blueprint.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan_edit(plan_id: int | None) -> str | BaseResponse | tuple[str, int]:
    plan = db.session.get(DuesPlan, plan_id) if plan_id else None
    if plan_id and plan is None:
        abort(404)
    form = PlanForm(obj=plan)
    if plan is not None and not form.is_submitted():
        form.initial_fee.data = amount_text(plan.initial_fee, "JPY")
        form.annual_dues.data = amount_text(plan.annual_dues, "JPY")
    if not form.is_submitted():
        return render_template("dues/manage/plan.html", form=form, plan=plan)
    if not form.validate():
        return render_template("dues/manage/plan.html", form=form, plan=plan), 400
    on_refusal("dues/manage/plan.html", form=form, plan=plan)
    saved = plans.save_plan(plan, form.terms(), actor=acting_person())
    flash(_("Plan %(code)s is saved.", code=saved.code), "success")
    return redirect(url_for("dues_manage.plan_list"))


@blueprint.get("/applications")
def queue() -> str:
    return render_template(
        "dues/manage/queue.html",
        applications=queries.application_queue(live_only=request.args.get("all") != "1"),
    )


def _application(application_id: int) -> MembershipApplication:
    application = db.session.get(MembershipApplication, application_id)
    if application is None:
        abort(404)
    return application


@blueprint.get("/applications/<int:application_id>")
def application(application_id: int) -> str:
    return render_template(
        "dues/manage/application.html",
        application=_application(application_id),
        message_form=MessageForm(),
        reason_form=ReasonForm(),
        slots_form=SlotsForm(),
    )


def _back(application_id: int) -> str:
    return url_for("dues_manage.application", application_id=application_id)


@blueprint.post("/applications/<int:application_id>/changes")
def request_changes(application_id: int) -> BaseResponse:
    application = _application(application_id)
    on_refusal(to=_back(application_id))
    applying.request_changes(
        application, actor=acting_person(), message=MessageForm().message.data or ""
    )
    flash(_("The applicant is asked for changes."), "success")
    return redirect(_back(application_id))


def _proposals(form: SlotsForm) -> list[applying.SlotProposal]:
    proposals = []
    for n in (1, 2):
        text = (getattr(form, f"slot{n}").data or "").strip()
        if not text:
            continue
        try:
            local = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TOKYO)  # noqa: DTZ007
        except ValueError:
            raise InvalidInput(_("Write each time as YYYY-MM-DD HH:MM."), field="slots") from None
        proposals.append(
            applying.SlotProposal(
                starts_at=local.astimezone(UTC),
                mode=getattr(form, f"mode{n}").data or "",
                place=getattr(form, f"place{n}").data or "",
            )
        )
    return proposals


@blueprint.post("/applications/<int:application_id>/slots")
def propose_slots(application_id: int) -> BaseResponse:
    application = _application(application_id)
    on_refusal(to=_back(application_id))
    applying.propose_slots(application, _proposals(SlotsForm()), actor=acting_person())
    flash(_("The orientation times are sent to the applicant."), "success")
    return redirect(_back(application_id))


@blueprint.post("/applications/<int:application_id>/approve")
def approve(application_id: int) -> BaseResponse:
    application = _application(application_id)
    on_refusal(to=_back(application_id))
    applying.approve(application, actor=acting_person())
    flash(_("Approved: the initial fee and first year's dues are issued."), "success")
    return redirect(_back(application_id))


@blueprint.post("/applications/<int:application_id>/decline")
def decline(application_id: int) -> BaseResponse:
    application = _application(application_id)
    on_refusal(to=_back(application_id))
    applying.decline(application, actor=acting_person(), reason=ReasonForm().reason.data or "")
    flash(_("The application is declined."), "success")
    return redirect(_back(application_id))


def _year() -> int:
    """The fiscal year asked for, or this one for anything that is not a plausible year
    (rule 10: a hostile number must not reach the database)."""
    text = request.args.get("year", "")
    if text.isascii() and text.isdigit() and 2000 <= int(text) <= 2200:
        return int(text)
    return fiscal_year_of(tokyo_today())


@blueprint.get("/report")
def report() -> str:
    year = _year()
    years, plan_rows, counts = queries.members_by_plan()
    return render_template(
        "dues/manage/report.html",
        year=year,
        years=sorted({*queries.fiscal_years(), year}, reverse=True),
        summary=queries.year_summary(year, tokyo_today()),
        member_years=years,
        member_plans=plan_rows,
        counts=counts,
        most=max(counts.values(), default=0),
    )


def _yen(amount: int) -> Decimal:
    return to_decimal(amount, "JPY")


@blueprint.get("/report.csv")
def report_csv() -> Response:
    year = _year()
    today = tokyo_today()
    header = [
        _("Member number"),
        _("Member"),
        _("Plan"),
        _("Kind"),
        _("Fiscal year"),
        _("Status"),
        _("Initial fee"),
        _("Dues"),
        _("Amount"),
        _("Consumption tax"),
        _("Due on"),
        _("Overdue (days)"),
        _("Invoice"),
    ]
    rows = []
    for charge in queries.year_charges(year):
        invoice = charge_invoice(charge)
        overdue = queries.overdue_bucket(charge, today)
        rows.append(
            [
                charge.member_plan.number,
                person_name(charge.member_plan.person),
                charge.plan.code,
                charge.kind,
                charge.fiscal_year,
                charge.status,
                _yen(charge.initial_fee),
                _yen(charge.dues),
                _yen(charge.amount),
                # Rounded down once per charge, as its invoice does (rule 13).
                _yen(charge.amount * 10 // 110),
                charge.due_on.isoformat(),
                (today - charge.due_on).days if overdue else "",
                invoice.number if invoice else "",
            ]
        )
    return Response(
        csv_text(header, rows).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="dues-{year}.csv"'},
    )


def _reception_answer(code: str) -> tuple[bool, str, str]:
    """(in good standing, message, detail) for a scanned or typed membership card."""
    member_plan = member_from_code(code)
    if member_plan is None:
        return False, _("No membership card has this code."), ""
    membership = member_plan.membership
    valid = membership is not None and membership.is_verified_on(tokyo_today())
    name = person_name(member_plan.person)
    detail = f"{localized(member_plan.plan, 'name')} · {member_plan.number}"
    if valid:
        return True, _("LINK-J member: %(name)s.", name=name), detail
    return False, _("Not a LINK-J member now: %(name)s.", name=name), detail


@blueprint.route("/reception", methods=["GET", "POST"])
def reception() -> Response | tuple[str, int] | str:
    """LINK-J's reception reads membership cards with the check-in page's scanner script."""
    if request.method == "GET":
        return render_template("dues/manage/reception.html", result=None)
    ok, message, detail = _reception_answer(request.form.get("code", "")[:500])
    status = 200 if ok else 400
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return jsonify(ok=ok, message=message, detail=detail), status
    result = {"ok": ok, "message": message, "detail": detail}
    return render_template("dues/manage/reception.html", result=result), status


@blueprint.get("/card/<token>")
def card_lookup(token: str) -> str:
    """Where a scanned membership card leads: who it is and whether they are a member now."""
    member_plan = member_from_token(token)
    if member_plan is None:
        abort(404)
    today = tokyo_today()
    membership = member_plan.membership
    valid = membership is not None and membership.is_verified_on(today)
    return render_template("dues/manage/card_lookup.html", member_plan=member_plan, valid=valid)
