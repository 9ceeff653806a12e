"""LINK-J's corporate members and their seats (staff; ``portal.accounts.companies``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from portal.accounts import companies as corporate_members
from portal.accounts import queries
from portal.accounts.management import forms
from portal.admin.access import require_staff
from portal.i18n import person_name
from portal.language import gettext as _
from portal.pages import acting_person, on_refusal

TEMPLATE = "accounts/manage/companies.html"


def companies() -> Response | tuple[str, int]:
    require_staff()
    form = forms.CompanyForm()
    if form.validate_on_submit() and form.primary_contact is not None:
        on_refusal(TEMPLATE, companies=queries.companies(), form=form)
        company = corporate_members.create_company(
            actor=acting_person(),
            name=form.name.data,
            email_domain=form.email_domain.data,
            seat_count=form.seat_count.data,
            primary_contact=form.primary_contact,
            valid_until=form.valid_until.data,
        )
        flash(
            _(
                "%(company)s is a LINK-J corporate member with %(seats)d seats; "
                "%(name)s holds the first one.",
                company=company.name,
                seats=company.seat_count,
                name=person_name(form.primary_contact),
            ),
            "success",
        )
        return redirect(url_for(".companies"))
    return render_template(TEMPLATE, companies=queries.companies(), form=form), (
        400 if form.is_submitted() else 200
    )
