"""Account pages: sign-up, sign-in, links from mail, the member's dashboard and settings."""

from __future__ import annotations

import json
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from portal import inputs
from portal.accounts import (
    companies,
    consents,
    forms,
    labels,
    memberships,
    queries,
    services,
    sessions,
    signin,
)
from portal.accounts import dashboard as dashboard_sections
from portal.accounts import profile as own_profile
from portal.accounts.landing import landing_url
from portal.accounts.models import CrossBorderConsent, Invitation, Person
from portal.errors import InvalidTransition
from portal.extensions import db, limiter
from portal.forms import ConfirmForm
from portal.i18n import current_language, localized
from portal.language import gettext as _
from portal.organizations.models import Organization, OrganizationKind
from portal.pages import acting_person, on_refusal

blueprint = Blueprint("accounts", __name__)


@blueprint.record_once
def _register_labels(state: BlueprintSetupState) -> None:
    # App-wide: pages of every area show memberships and roles.
    state.app.jinja_env.globals.update(labels.TEMPLATE_GLOBALS)


@blueprint.app_template_global()
def local_today(organization: Organization) -> date:
    return memberships.today(organization)


_form_email = signin.form_email
_setting = signin.setting

for _rule, _view, _methods in signin.SIGN_IN_ROUTES:
    blueprint.add_url_rule(_rule, view_func=_view, methods=_methods)


def _organization_choices() -> list[SelectChoice]:
    organizations = db.session.scalars(
        select(Organization)
        # A host (Kobe City) has no members to claim.
        .where(Organization.kind != OrganizationKind.HOST)
        .order_by(Organization.kind, Organization.id)
    ).all()
    # An empty first choice: nobody is registered with the first organization of the list by
    # not looking, and a required select needs one (HTML's placeholder label option).
    return [SelectChoice("", _("Choose your home organization"))] + [
        SelectChoice(str(o.id), localized(o, "name")) for o in organizations
    ]


# --- sign-up and confirmation ---


@blueprint.route("/register", methods=["GET", "POST"])
@limiter.limit(_setting("REGISTRATIONS_PER_ADDRESS"), methods=["POST"])
# Mail to one address (a confirmation, or "you already have an account") stays rare.
@limiter.limit("3 per hour", methods=["POST"], key_func=_form_email)
def register() -> str | BaseResponse:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    form = forms.RegistrationForm()
    form.organization.choices = _organization_choices()
    if form.validate_on_submit():
        on_refusal("accounts/register.html", form=form)
        services.register_person(
            services.Registration(
                email=form.email.data,
                password=form.password.data,
                **form.names(),
                home_organization_id=form.organization.data,
                membership_kind=form.membership_kind.data,
                member_number=form.member_number.data or "",
                locale=current_language(),
            )
        )
        # The same page whether or not the address already had an account.
        return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


@blueprint.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> str | BaseResponse:
    # A button, not the GET: mail scanners that prefetch links must not use them up.
    form = ConfirmForm()
    if form.validate_on_submit():
        on_refusal("accounts/confirm.html", form=None)
        try:
            person = services.confirm_email(token)
        except InvalidTransition as error:
            # Not an error for the person: the address is confirmed already.
            flash(error.message, "info")
            return redirect(
                url_for("accounts.dashboard" if current_user.is_authenticated else "accounts.login")
            )
        flash(_("Thank you: your email address is confirmed."), "success")
        if current_user.is_authenticated and current_user.id == person.id:
            return redirect(landing_url(person))
        if current_user.is_authenticated:
            # Someone else was signed in on this browser: their session ends, not lingers.
            sessions.log_out(acting_person())
            logout_user()
        # The link proved the address is theirs: no password asked again (a second factor,
        # if they have one, still is).
        return signin.sign_in(person, remember=False, target=landing_url(person))
    return render_template("accounts/confirm.html", form=form)


@blueprint.post("/confirm/resend")
@login_required
@limiter.limit("3 per hour")
def resend_confirmation() -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        try:
            services.resend_confirmation(acting_person())
        except InvalidTransition as error:
            # Not an error for the person: the address is confirmed already.
            flash(error.message, "info")
        else:
            flash(
                _("We sent a new confirmation link to %(email)s.", email=current_user.email),
                "success",
            )
    return redirect(url_for("accounts.dashboard"))


# --- sign-in ---


@blueprint.route("/reset", methods=["GET", "POST"])
@limiter.limit(_setting("RESET_REQUESTS_PER_ADDRESS"), methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_form_email)
def request_reset() -> str | BaseResponse:
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, locale=current_language())
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form)


@blueprint.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password(token: str) -> str | BaseResponse:
    on_refusal("accounts/reset_password.html", form=None)
    services.check_reset_token(token)
    form = forms.NewPasswordForm()
    if form.validate_on_submit():
        on_refusal("accounts/reset_password.html", form=form)
        services.reset_password(token, form.password.data)
        logout_user()
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


# --- the member's own pages --------------------------------------------------------------------


@blueprint.get("/account")
@login_required
def dashboard() -> str:
    # The session's loader read the person with memberships, companies and roles: reused.
    person = current_user._get_current_object()  # type: ignore[attr-defined]
    rendered = dashboard_sections.render_sections(person)
    page = render_template(
        "accounts/dashboard.html",
        person=person,
        steps=dashboard_sections.steps_for(person, lambda m: memberships.today(m.organization)),
        company=queries.company_of_primary_contact(person),
        dashboard_sections=rendered.sections,
        needs_shown=rendered.needs_shown,
        confirm_form=ConfirmForm(),
    )
    if rendered.news_shown:
        dashboard_sections.record_visit(person)
    return page


@blueprint.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | BaseResponse:
    person = acting_person()
    form = forms.ProfileForm(obj=person)
    if request.method == "GET":
        form.preferred_locale.data = person.preferred_locale or current_language()
    if form.validate_on_submit():
        on_refusal("accounts/profile.html", form=form)
        own_profile.update_profile(
            person, **{name: getattr(form, name).data for name in own_profile.PROFILE_FIELDS}
        )
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


@blueprint.route("/account/email", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per hour", methods=["POST"])
def change_email() -> str | BaseResponse:
    form = forms.ChangeEmailForm()
    if form.validate_on_submit():
        on_refusal("accounts/change_email.html", form=form)
        own_profile.request_email_change(
            acting_person(), new_email=form.new_email.data, password=form.current_password.data
        )
        flash(
            _(
                "We sent a confirmation link to %(email)s. Your address changes when you open it.",
                email=form.new_email.data,
            ),
            "success",
        )
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_email.html", form=form)


@blueprint.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> str | BaseResponse:
    form = ConfirmForm()
    if form.validate_on_submit():
        on_refusal("accounts/confirm.html", form=None, change=True)
        own_profile.confirm_email_change(token)
        flash(_("Your email address is changed."), "success")
        return redirect(
            url_for("accounts.profile" if current_user.is_authenticated else "accounts.login")
        )
    return render_template("accounts/confirm.html", form=form, change=True)


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | BaseResponse:
    form = forms.ChangePasswordForm()
    if form.validate_on_submit():
        person = acting_person()
        on_refusal("accounts/change_password.html", form=form)
        services.change_password(
            person,
            current_password=form.current_password.data,
            new_password=form.password.data,
            keep=sessions.current_session_of(person),
        )
        flash(_("Your password is changed; your other sessions were logged out."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_password.html", form=form)


@blueprint.route("/account/memberships/new", methods=["GET", "POST"])
@login_required
def claim_membership() -> str | BaseResponse:
    form = forms.ClaimMembershipForm()
    form.organization.choices = _organization_choices()
    if form.validate_on_submit():
        organization = db.session.get(Organization, form.organization.data) or abort(404)
        on_refusal("accounts/claim_membership.html", form=form)
        membership = services.claim_membership(
            acting_person(),
            organization,
            kind=form.membership_kind.data,
            member_number=form.member_number.data or "",
        )
        if membership.status == "verified":
            flash(_("Your membership is verified."), "success")
        else:
            flash(_("Your claim is sent; the organization will verify it."), "success")
        return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/claim_membership.html", form=form)


@blueprint.get("/account/export")
@login_required
def export_data() -> Response:
    body = json.dumps(services.export_personal_data(acting_person()), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="linkj-portal-my-data.json"'},
    )


@blueprint.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> str | BaseResponse:
    form = forms.DeleteAccountForm()
    kept = services.kept_after_deletion(acting_person())
    if form.validate_on_submit():
        on_refusal("accounts/delete.html", form=form, kept=kept)
        services.delete_account(acting_person(), password=form.current_password.data)
        logout_user()
        flash(_("Your account and its personal data are deleted."), "info")
        return redirect(url_for("organizations.home"))
    return render_template("accounts/delete.html", form=form, kept=kept)


# --- consent to share data abroad ------------------------------------------------------------

#: The fields the consent step adds to the form it posts again.
CONSENT_FIELDS = ("consent_to", "statement_version")


def consent_step(needed: consents.ConsentRequired, *, cancel_url: str) -> str:
    """The statement of each organization still to agree to, with an "I agree" button that
    posts the same form again, to the same address, with the consent: the claim or
    registration then continues where it stopped."""
    carried = [
        (name, value)
        for name in request.form
        if name not in (*CONSENT_FIELDS, "csrf_token")
        for value in request.form.getlist(name)
    ]
    return render_template(
        "accounts/consent_step.html",
        message=needed.message,
        statements=[consents.statement(o) for o in needed.organizations],
        version=consents.STATEMENT_VERSION,
        action=request.path,
        carried=carried,
        cancel_url=cancel_url,
    )


def agree_if_asked(person: Person) -> None:
    """Record the consents the consent step posted along with the form, if it did."""
    ids = request.form.getlist("consent_to", type=inputs.integer)
    if not ids:
        return
    organizations = db.session.scalars(
        select(Organization).where(Organization.id.in_(ids)).order_by(Organization.id)
    ).all()
    consents.give_consent(
        person, organizations, version=request.form.get("statement_version", 0, type=inputs.integer)
    )


@blueprint.get("/account/consents")
@login_required
def consents_page() -> str:
    person = acting_person()
    return render_template(
        "accounts/consents.html",
        consents=consents.consents_of(person),
        statement_for=consents.statement,
        zone=signin.person_zone(person),
        form=ConfirmForm(),
    )


@blueprint.post("/account/consents/<int:consent_id>/withdraw")
@login_required
def withdraw_consent(consent_id: int) -> BaseResponse:
    consent = db.session.get(CrossBorderConsent, consent_id)
    if consent is None or consent.person_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for("accounts.consents_page"))
        consents.withdraw_consent(consent, person=acting_person())
        flash(
            _(
                "Your consent is withdrawn: nothing more goes to %(organization)s, and your "
                "claims waiting for its decision are withdrawn.",
                organization=consent.organization.short_name,
            ),
            "success",
        )
    return redirect(url_for("accounts.consents_page"))


# --- corporate seats ---


@blueprint.route("/account/company", methods=["GET", "POST"])
@login_required
def company() -> str | BaseResponse:
    company = queries.company_of_primary_contact(acting_person()) or abort(404)
    form = forms.InviteColleagueForm()
    if form.validate_on_submit():
        on_refusal(to=url_for("accounts.company"))
        companies.invite_colleague(company, form.email.data, actor=acting_person())
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for("accounts.company"))
    members, invitations = queries.company_seats(company)
    return render_template(
        "accounts/company.html",
        company=company,
        members=members,
        invitations=invitations,
        seats_taken=companies.seats_taken(company),
        form=form,
        revoke_form=ConfirmForm(),
    )


@blueprint.post("/account/company/invitations/<int:invitation_id>/withdraw")
@login_required
def withdraw_invitation(invitation_id: int) -> BaseResponse:
    invitation = db.session.get(Invitation, invitation_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for("accounts.company"))
        companies.revoke_invitation(invitation, actor=acting_person())
        flash(_("The invitation is withdrawn."), "success")
    return redirect(url_for("accounts.company"))


@blueprint.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> str | BaseResponse:
    on_refusal("accounts/invitation.html", invitation=None, form=None)
    invitation = companies.invitation_from_token(token)
    form = ConfirmForm()
    if current_user.is_authenticated and form.validate_on_submit():
        on_refusal("accounts/invitation.html", invitation=invitation, form=form)
        companies.accept_invitation(token, person=acting_person())
        flash(
            _(
                "Welcome: you now hold a seat of %(company)s's LINK-J membership.",
                company=invitation.company.name,
            ),
            "success",
        )
        return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/invitation.html", invitation=invitation, form=form)
