"""The administration's front page and its audit log, with what every management page
shares: the navigation and how the audit log names its entries.

This is the top (web) layer: the overview shows every area's work (memberships to decide,
claims waiting, the reciprocity report) and the audit log covers every area's entries, so it
may import any area. Each area's own management pages live in the area
(``portal/<area>/management``); the role checks they share in ``portal.admin.access``.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from portal.accounts import memberships, queries
from portal.accounts.management.scope import organization_or_404
from portal.admin.access import management_blueprint
from portal.audit import sentences
from portal.audit.queries import audit_log
from portal.benefits import queries as benefit_queries
from portal.benefits import report
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.organizations.queries import agreements_for_admin, get_hub
from portal.pages import acting_person, page_number
from portal.timefmt import DEFAULT_TIMEZONE

blueprint = management_blueprint("admin", __name__)

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
    "factor.add": _l("Second factor added"),
    "factor.remove": _l("Second factor removed"),
    "factor.recovery_code_used": _l("Recovery code used"),
    "factor.recovery_codes_renewed": _l("Recovery codes renewed"),
    "factor.step_up": _l("Second factor confirmed for a sensitive action"),
    "session.sign_in": _l("Signed in (a role holder)"),
    "session.end": _l("Session logged out"),
    "session.end_all": _l("Sessions logged out"),
    "session.link_step_required": _l("Sign-in by mailed link required after many failures"),
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
    "api_key.create": _l("API key created"),
    "api_key.revoke": _l("API key revoked"),
    "api.call": _l("API call"),
    "webhook.add": _l("Webhook endpoint registered"),
    "webhook.rotate": _l("Webhook secret rotated"),
    "webhook.enable": _l("Webhook endpoint enabled"),
    "webhook.disable": _l("Webhook endpoint disabled"),
}


# App-wide: the areas' management pages show audit histories too.
@blueprint.app_template_global()
def audit_action_label(action: str) -> Any:
    return AUDIT_ACTION_LABELS.get(action, action)


#: Benefit claims listed on the overview, oldest first (the claims page has them all).
WAITING_CLAIMS_SHOWN = 5


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    org = SelectField(_l("Organization"), validators=[Optional()])


@blueprint.get("/")
def index() -> str:
    actor = acting_person()
    hub = get_hub()
    this_year = report.reciprocity_report(
        agreements_for_admin(actor),
        kind="quarter",
        year=memberships.today(hub).year,
        timezone=hub.timezone if hub else DEFAULT_TIMEZONE,
    )
    waiting = benefit_queries.claims_for_admin(actor, status="requested")
    return render_template(
        "admin/index.html",
        organizations=queries.organizations_for_admin(actor),
        open_claims=waiting.total or 0,
        waiting_claims=list(waiting.items)[:WAITING_CLAIMS_SHOWN],
        report=this_year,
        chart=report.chart(this_year),
    )


@blueprint.get("/audit")
def audit() -> str:
    actor = acting_person()
    slug = request.args.get("org", "")
    organization = organization_or_404(slug) if slug else None
    filter_form = None
    if actor.is_staff:
        filter_form = AuditFilterForm(formdata=request.args)
        filter_form.org.choices = [("", _("All organizations"))] + [
            (o.slug, o.short_name)
            for o, _pending, _decide in queries.organizations_for_admin(actor)
        ]
    pagination = audit_log(actor, organization=organization, page=page_number())
    return render_template(
        "admin/audit.html",
        organization=organization,
        filter_form=filter_form,
        pagination=pagination,
        sentences=sentences.describe(pagination.items),
    )
