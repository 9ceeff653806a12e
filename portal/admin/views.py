"""Admin pages: partner admins verify their own members; staff run LINK-J's; admins grant roles.

One role check for the whole blueprint (``require_admin_role``); which records an actor may
see is decided by the scoped queries (``portal.accounts.queries``), which answer None for
anything outside the actor's scope, so it is a 404 (rule 4). What an actor may *do* is the
services' rule: they raise NotFound for a decision outside the actor's organization.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal import inputs, pagecache
from portal.accounts import companies as corporate_members
from portal.accounts import domain_rules, memberships, queries, rosters, services
from portal.accounts.models import (
    Membership,
    MembershipStatus,
    Person,
    Role,
    VerificationSource,
)
from portal.admin import forms
from portal.errors import DomainError, NotFound
from portal.extensions import db, login_manager
from portal.forms import ConfirmForm
from portal.i18n import format_day, localized, person_name
from portal.organizations.models import Organization
from portal.organizations.queries import list_partners

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

QUEUE_FILTER_LABELS = {
    "pending": _l("Pending"),
    "verified": _l("Verified"),
    "flagged": _l("Not on the latest roster"),
    "rejected": _l("Rejected"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "all": _l("All"),
}

ROSTER_ENCODING_LABELS = {
    "utf-8-sig": _l("UTF-8"),
    "utf-8": _l("UTF-8"),
    "cp932": _l("Shift_JIS (Japanese Excel)"),
}

AUDIT_ACTION_LABELS = {
    "membership.verify": _l("Membership verified"),
    "membership.reject": _l("Membership rejected"),
    "membership.revoke": _l("Membership revoked"),
    "membership.expire": _l("Membership expired"),
    "roster.import": _l("Roster uploaded"),
    "domain_rule.add": _l("Domain rule added"),
    "domain_rule.remove": _l("Domain rule removed"),
    "company.create": _l("Corporate member created"),
    "role.grant": _l("Role granted"),
    "role.revoke": _l("Role removed"),
    "invitation.create": _l("Colleague invited"),
    "invitation.accept": _l("Invitation accepted"),
    "person.delete": _l("Account deleted"),
    "organization.create": _l("Organization added"),
    "organization.update": _l("Organization edited"),
    "agreement.create": _l("MOU recorded"),
    "agreement.update": _l("MOU edited"),
    "service.create": _l("Service added"),
    "service.update": _l("Service edited"),
    "service.delete": _l("Service deleted"),
    "benefit_codes.import": _l("Codes uploaded"),
    "benefit_claim.request": _l("Benefit claimed"),
    "benefit_claim.approve": _l("Claim approved"),
    "benefit_claim.reject": _l("Claim refused"),
    "benefit_claim.cancel": _l("Claim cancelled by the member"),
    "benefit_claim.fulfil": _l("Claim fulfilled"),
}

VERIFICATION_SOURCE_LABELS = {
    VerificationSource.MANUAL: _l("By an admin"),
    VerificationSource.ROSTER: _l("By a roster match"),
    VerificationSource.DOMAIN_RULE: _l("By an email-domain rule"),
    VerificationSource.INVITATION: _l("By a corporate member's invitation"),
}

#: Times without an organization of their own (role changes) are shown in LINK-J's zone.
DEFAULT_TIMEZONE = "Asia/Tokyo"


# --- access -----------------------------------------------------------------------------------


def _actor() -> Person:
    return current_user._get_current_object()  # type: ignore[no-any-return]


@blueprint.before_request
def require_admin_role() -> Response | None:
    """The one role check: staff, admins and partner admins; everyone else is refused."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    actor = _actor()
    if not (actor.is_staff or actor.administered_organization_id is not None):
        abort(403)
    return None


@blueprint.after_request
def keep_out_of_caches(response: Response) -> Response:
    # Member lists and personal data: never stored by a shared computer's browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_staff() -> None:
    if not _actor().is_staff:
        abort(403)


def _require_admin() -> None:
    if not _actor().is_admin:
        abort(403)


def _organization(slug: str) -> Organization:
    return queries.organization_for_admin(_actor(), slug) or abort(404)


def _membership(membership_id: int) -> Membership:
    return queries.membership_for_admin(_actor(), membership_id) or abort(404)


def _refused(error: DomainError) -> None:
    """A service said no: outside the actor's scope is a 404, anything else a message."""
    if isinstance(error, NotFound):
        abort(404)
    db.session.rollback()
    flash(error.message, "error")


def _page() -> int:
    return max(request.args.get("page", 1, type=inputs.integer) or 1, 1)


# --- what templates of this blueprint share ---------------------------------------------------


def _local_time(value: datetime | None, timezone: str | None = None) -> str:
    """A stored UTC time in the organization's zone (rule 9), as the viewer's language writes it."""
    if value is None:
        return ""
    zone = ZoneInfo(timezone or DEFAULT_TIMEZONE)
    locale = get_locale()
    day = format_skeleton("yMMMd", value, tzinfo=zone, locale=locale)
    return f"{day} {format_time(value, 'HH:mm zzz', tzinfo=zone, locale=locale)}"


def _local_day(value: datetime | None, timezone: str | None = None) -> date | None:
    return value.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE)).date() if value else None


# App-wide while the areas' management pages move out of this blueprint (they share these).
@blueprint.app_context_processor
def admin_template_helpers() -> dict[str, Any]:
    return {
        "queue_filter_labels": QUEUE_FILTER_LABELS,
        "role_labels": forms.ROLE_LABELS,
        "audit_action_label": lambda action: AUDIT_ACTION_LABELS.get(action, action),
        "verified_via_label": lambda via: VERIFICATION_SOURCE_LABELS.get(via, via),
        "encoding_label": lambda encoding: ROSTER_ENCODING_LABELS.get(encoding, encoding),
        "local_time": _local_time,
        "local_day": _local_day,
    }


# --- overview ---------------------------------------------------------------------------------


@blueprint.get("/")
def index() -> str:
    from portal.benefits import queries as benefit_queries
    from portal.benefits import report
    from portal.organizations.queries import get_hub

    actor = _actor()
    hub = get_hub()
    this_year = report.reciprocity_report(
        benefit_queries.agreements_for_admin(actor),
        kind="quarter",
        year=memberships.today(hub).year,
        timezone=hub.timezone if hub else DEFAULT_TIMEZONE,
    )
    return render_template(
        "admin/index.html",
        organizations=queries.organizations_for_admin(actor),
        open_claims=benefit_queries.open_claims_count(actor),
        report=this_year,
        chart=report.chart(this_year),
    )


# --- verification queue -----------------------------------------------------------------------


def _render_queue(
    organization: Organization, *, bulk_form: forms.BulkVerifyForm | None = None
) -> str:
    actor = _actor()
    status = request.args.get("status", "pending")
    if status not in queries.QUEUE_FILTERS:
        status = "pending"
    search_form = forms.SearchForm(formdata=request.args)
    search = (search_form.q.data or "") if search_form.validate() else ""
    can_decide = memberships.can_decide_memberships(actor, organization)
    if can_decide and bulk_form is None:
        bulk_form = forms.BulkVerifyForm(
            valid_until=memberships.default_validity_end(
                organization, memberships.today(organization)
            )
        )
    return render_template(
        "admin/queue.html",
        organization=organization,
        status=status,
        search=search,
        search_form=search_form,
        pagination=queries.verification_queue(
            organization, status=status, search=search, page=_page()
        ),
        filters=queries.QUEUE_FILTERS,
        can_decide=can_decide,
        bulk_form=bulk_form,
    )


@blueprint.get("/organizations/<slug>/memberships")
@pagecache.cached_page(
    tables=("person", "organization", "role_grant"),
    entity=pagecache.SlugEntity("org", Organization),
    signed_in_only=True,
)
def queue(slug: str) -> str:
    return _render_queue(_organization(slug))


@blueprint.post("/organizations/<slug>/memberships/verify")
def bulk_verify(slug: str) -> Response | tuple[str, int]:
    organization = _organization(slug)
    form = forms.BulkVerifyForm()
    if not form.validate_on_submit():
        return _render_queue(organization, bulk_form=form), 400
    try:
        count = memberships.verify_memberships(
            form.membership_ids.data or [],
            actor=_actor(),
            organization=organization,
            valid_until=form.valid_until.data,
        )
    except DomainError as error:
        _refused(error)
    else:
        flash(
            ngettext(
                "%(num)d membership verified until %(date)s.",
                "%(num)d memberships verified until %(date)s.",
                count,
                date=format_day(form.valid_until.data),
            ),
            "success",
        )
    return redirect(url_for(".queue", slug=organization.slug))


# --- one membership ---------------------------------------------------------------------------


def _render_membership(
    membership: Membership,
    *,
    verify_form: forms.VerifyMembershipForm | None = None,
    reject_form: forms.RejectMembershipForm | None = None,
    revoke_form: forms.RevokeMembershipForm | None = None,
) -> str:
    organization = membership.organization
    can_decide = memberships.can_decide_memberships(_actor(), organization)
    if can_decide and membership.status == MembershipStatus.PENDING:
        verify_form = verify_form or forms.VerifyMembershipForm(
            valid_until=memberships.default_validity_end(
                organization, memberships.today(organization)
            )
        )
        reject_form = reject_form or forms.RejectMembershipForm()
    if can_decide and membership.status == MembershipStatus.VERIFIED:
        revoke_form = revoke_form or forms.RevokeMembershipForm()
    return render_template(
        "admin/membership.html",
        membership=membership,
        organization=organization,
        history=queries.membership_history(membership),
        can_decide=can_decide,
        verify_form=verify_form if can_decide else None,
        reject_form=reject_form if can_decide else None,
        revoke_form=revoke_form if can_decide else None,
    )


@blueprint.get("/memberships/<int:membership_id>")
def membership(membership_id: int) -> str:
    return _render_membership(_membership(membership_id))


@blueprint.post("/memberships/<int:membership_id>/verify")
def verify_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = _membership(membership_id)
    form = forms.VerifyMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, verify_form=form), 400
    try:
        memberships.verify_membership(
            membership, actor=_actor(), valid_until=form.valid_until.data, note=form.note.data or ""
        )
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "%(name)s is verified as a member of %(organization)s until %(date)s.",
                name=person_name(membership.person),
                organization=membership.organization.short_name,
                date=format_day(membership.valid_until),
            ),
            "success",
        )
    return redirect(url_for(".membership", membership_id=membership.id))


@blueprint.post("/memberships/<int:membership_id>/reject")
def reject_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = _membership(membership_id)
    form = forms.RejectMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, reject_form=form), 400
    try:
        memberships.reject_membership(membership, actor=_actor(), reason=form.reason.data)
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "The claim of %(name)s is rejected; they are told the reason by mail.",
                name=person_name(membership.person),
            ),
            "success",
        )
    return redirect(url_for(".membership", membership_id=membership.id))


@blueprint.post("/memberships/<int:membership_id>/revoke")
def revoke_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = _membership(membership_id)
    form = forms.RevokeMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, revoke_form=form), 400
    try:
        memberships.revoke_membership(membership, actor=_actor(), reason=form.reason.data)
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "The membership of %(name)s is revoked; they are told the reason by mail.",
                name=person_name(membership.person),
            ),
            "success",
        )
    return redirect(url_for(".membership", membership_id=membership.id))


# --- roster -----------------------------------------------------------------------------------


@blueprint.route("/organizations/<slug>/roster", methods=["GET", "POST"])
def roster(slug: str) -> Response | str | tuple[str, int]:
    organization = _organization(slug)
    actor = _actor()
    form = forms.RosterUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.roster.data
        try:
            result = rosters.import_roster(
                organization, actor=actor, filename=upload.filename or "", content=upload.read()
            )
        except DomainError as error:
            _refused(error)
            status = 400
        else:
            flash(
                _(
                    "Roster imported (%(encoding)s). Rows: %(rows)d. Claims verified: "
                    "%(verified)d. Verified members no longer listed, flagged for review: "
                    "%(flagged)d. Flags cleared: %(unflagged)d.",
                    encoding=ROSTER_ENCODING_LABELS.get(result.encoding, result.encoding),
                    rows=result.rows,
                    verified=result.verified,
                    flagged=result.flagged,
                    unflagged=result.unflagged,
                ),
                "success",
            )
            return redirect(url_for(".roster", slug=organization.slug))
    elif form.is_submitted():
        status = 400
    upload = queries.latest_roster(organization)
    uploaded_by = db.session.get(Person, upload.uploaded_by_id) if upload else None
    return render_template(
        "admin/roster.html",
        organization=organization,
        form=form,
        upload=upload,
        uploaded_by=uploaded_by,
        can_decide=memberships.can_decide_memberships(actor, organization),
        max_megabytes=forms.MAX_ROSTER_BYTES // (1024 * 1024),
    ), status


# --- email-domain rules -----------------------------------------------------------------------


@blueprint.route("/organizations/<slug>/domains", methods=["GET", "POST"])
def domains(slug: str) -> Response | str | tuple[str, int]:
    organization = _organization(slug)
    actor = _actor()
    form = forms.DomainRuleForm()
    status = 200
    if form.validate_on_submit():
        try:
            rule, verified = domain_rules.add_domain_rule(
                organization, form.domain.data, actor=actor, note=form.note.data or ""
            )
        except DomainError as error:
            _refused(error)
            status = 400
        else:
            flash(
                ngettext(
                    "Addresses at %(domain)s now verify members; %(num)d pending claim was "
                    "verified at once.",
                    "Addresses at %(domain)s now verify members; %(num)d pending claims were "
                    "verified at once.",
                    verified,
                    domain=rule.domain,
                ),
                "success",
            )
            return redirect(url_for(".domains", slug=organization.slug))
    elif form.is_submitted():
        status = 400
    return render_template(
        "admin/domains.html",
        organization=organization,
        rules=queries.domain_rules(organization),
        form=form,
        delete_form=ConfirmForm(),
        can_decide=memberships.can_decide_memberships(actor, organization),
    ), status


@blueprint.post("/domains/<int:rule_id>/delete")
def delete_domain(rule_id: int) -> Response:
    rule = queries.domain_rule_for_admin(_actor(), rule_id) or abort(404)
    organization = db.session.get(Organization, rule.organization_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        domain = rule.domain
        try:
            domain_rules.remove_domain_rule(rule, actor=_actor())
        except DomainError as error:
            _refused(error)
        else:
            flash(_("Addresses at %(domain)s no longer verify members.", domain=domain), "success")
    return redirect(url_for(".domains", slug=organization.slug))


# --- LINK-J corporate members (staff) ---------------------------------------------------------


@blueprint.route("/companies", methods=["GET", "POST"])
def companies() -> Response | str | tuple[str, int]:
    _require_staff()
    form = forms.CompanyForm()
    status = 200
    if form.validate_on_submit() and form.primary_contact is not None:
        try:
            company = corporate_members.create_company(
                actor=_actor(),
                name=form.name.data,
                email_domain=form.email_domain.data,
                seat_count=form.seat_count.data,
                primary_contact=form.primary_contact,
                valid_until=form.valid_until.data,
            )
        except DomainError as error:
            _refused(error)
            status = 400
        else:
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
    elif form.is_submitted():
        status = 400
    return render_template("admin/companies.html", companies=queries.companies(), form=form), status


# --- people and roles (admins) ----------------------------------------------------------------


@blueprint.get("/people")
def people() -> str:
    _require_admin()
    search_form = forms.SearchForm(formdata=request.args)
    search = (search_form.q.data or "") if search_form.validate() else ""
    return render_template(
        "admin/people.html",
        search_form=search_form,
        search=search,
        pagination=queries.search_people(search, page=_page()),
    )


def _person(person_id: int) -> Person:
    person = queries.person_with_memberships(person_id)
    if person is None or person.deleted_at is not None:
        abort(404)
    return person


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
        "admin/person.html",
        person=person,
        grant_form=grant_form or _grant_form(),
        revoke_forms=revoke_forms,
    )


@blueprint.get("/people/<int:person_id>")
def person(person_id: int) -> str:
    _require_admin()
    return _render_person(_person(person_id))


@blueprint.post("/people/<int:person_id>/roles")
def grant_role(person_id: int) -> Response | tuple[str, int]:
    _require_admin()
    person = _person(person_id)
    form = _grant_form()
    if not form.validate_on_submit():
        return _render_person(person, grant_form=form), 400
    organization = _organization(form.organization.data) if form.organization.data else None
    try:
        services.grant_role(
            person,
            form.role.data,
            actor=_actor(),
            organization=organization,
            reason=form.reason.data,
        )
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "%(name)s is now %(role)s.",
                name=person_name(person),
                role=forms.ROLE_LABELS[Role(form.role.data)],
            ),
            "success",
        )
    return redirect(url_for(".person", person_id=person.id))


@blueprint.post("/people/<int:person_id>/roles/<role>/revoke")
def revoke_role(person_id: int, role: str) -> Response | tuple[str, int]:
    _require_admin()
    person = _person(person_id)
    if role not in set(Role):
        abort(404)
    form = forms.RevokeRoleForm(prefix=f"revoke-{role}")
    if not form.validate_on_submit():
        return _render_person(person, failed_revoke=(role, form)), 400
    try:
        services.revoke_role(person, role, actor=_actor(), reason=form.reason.data)
    except DomainError as error:
        _refused(error)
    else:
        flash(
            _(
                "%(name)s is no longer %(role)s.",
                name=person_name(person),
                role=forms.ROLE_LABELS[Role(role)],
            ),
            "success",
        )
    return redirect(url_for(".person", person_id=person.id))


# --- audit log --------------------------------------------------------------------------------


@blueprint.get("/audit")
def audit() -> str:
    actor = _actor()
    slug = request.args.get("org", "")
    organization = _organization(slug) if slug else None
    filter_form = None
    if actor.is_staff:
        filter_form = forms.AuditFilterForm(formdata=request.args)
        filter_form.org.choices = [("", _("All organizations"))] + [
            (o.slug, o.short_name)
            for o, _pending, _decide in queries.organizations_for_admin(actor)
        ]
    return render_template(
        "admin/audit.html",
        organization=organization,
        filter_form=filter_form,
        pagination=queries.audit_log(actor, organization=organization, page=_page()),
    )
