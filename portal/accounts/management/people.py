"""People and their roles (admins only: roles are theirs to grant)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.accounts import queries, services, sessions
from portal.accounts.factors.state import require_recent_factor
from portal.accounts.labels import ROLE_LABELS
from portal.accounts.management import forms
from portal.accounts.management.scope import organization_or_404, person_or_404
from portal.accounts.models import Person, Role
from portal.admin.access import require_admin
from portal.forms import ConfirmForm
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.language import ngettext
from portal.organizations.queries import list_partners
from portal.pages import acting_person, on_refusal, page_number


def people() -> str:
    require_admin()
    search_form = forms.SearchForm(formdata=request.args)
    search = (search_form.q.data or "") if search_form.validate() else ""
    return render_template(
        "accounts/manage/people.html",
        search_form=search_form,
        search=search,
        pagination=queries.search_people(search, page=page_number()),
    )


def _grant_form() -> forms.GrantRoleForm:
    form = forms.GrantRoleForm(prefix="grant")
    form.organization.choices = [SelectChoice("", _("None (staff and administrators)"))] + [
        SelectChoice(o.slug, localized(o, "name")) for o in list_partners()
    ]
    return form


def _render_person(
    person: Person,
    *,
    grant_form: forms.GrantRoleForm | None = None,
    failed_revoke: tuple[str, forms.RevokeRoleForm] | None = None,
) -> str:
    revoke_forms = {
        grant.role: forms.RevokeRoleForm(prefix=f"revoke-{grant.role}")
        for grant in person.role_grants
    }
    if failed_revoke is not None:
        role, form = failed_revoke
        revoke_forms[role] = form
    return render_template(
        "accounts/manage/person.html",
        person=person,
        grant_form=grant_form or _grant_form(),
        revoke_forms=revoke_forms,
        open_sessions=len(sessions.live_sessions(person)),
        sign_out_form=ConfirmForm(),
    )


def person(person_id: int) -> str:
    require_admin()
    return _render_person(person_or_404(person_id))


def grant_role(person_id: int) -> Response | tuple[str, int]:
    require_admin()
    require_recent_factor()  # rule 17
    person = person_or_404(person_id)
    form = _grant_form()
    if not form.validate_on_submit():
        return _render_person(person, grant_form=form), 400
    organization = organization_or_404(form.organization.data) if form.organization.data else None
    on_refusal(to=url_for(".person", person_id=person.id))
    services.grant_role(
        person,
        form.role.data,
        actor=acting_person(),
        organization=organization,
        reason=form.reason.data,
    )
    flash(
        _(
            "%(name)s is now %(role)s.",
            name=person_name(person),
            role=ROLE_LABELS[Role(form.role.data)],
        ),
        "success",
    )
    return redirect(url_for(".person", person_id=person.id))


def revoke_role(person_id: int, role: str) -> Response | tuple[str, int]:
    require_admin()
    require_recent_factor()  # rule 17
    person = person_or_404(person_id)
    if role not in set(Role):
        abort(404)
    form = forms.RevokeRoleForm(prefix=f"revoke-{role}")
    if not form.validate_on_submit():
        return _render_person(person, failed_revoke=(role, form)), 400
    on_refusal(to=url_for(".person", person_id=person.id))
    services.revoke_role(person, role, actor=acting_person(), reason=form.reason.data)
    flash(
        _(
            "%(name)s is no longer %(role)s.",
            name=person_name(person),
            role=ROLE_LABELS[Role(role)],
        ),
        "success",
    )
    return redirect(url_for(".person", person_id=person.id))


def sign_out(person_id: int) -> Response:
    """Rule 15: an admin ends every session of a person at once (a lost laptop, a leaver)."""
    require_admin()
    person = person_or_404(person_id)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for(".person", person_id=person.id))
        ended = sessions.sign_out_person(person, actor=acting_person())
        flash(
            ngettext(
                "%(name)s is logged out of %(num)d session.",
                "%(name)s is logged out of %(num)d sessions.",
                ended,
                name=person_name(person),
            ),
            "success",
        )
    return redirect(url_for(".person", person_id=person.id))
