"""Every address of the accounts area's management pages, in one place (blueprint
``accounts_manage``, under ``/admin``, behind the management role check)."""

from __future__ import annotations

from portal.accounts.management import companies, domains, people, rosters, verification
from portal.admin.access import management_blueprint

blueprint = management_blueprint("accounts_manage", __name__)

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]

for rule, view, methods in (
    # the verification queue and decisions
    ("/organizations/<slug>/memberships", verification.queue, GET),
    ("/organizations/<slug>/memberships/verify", verification.bulk_verify, POST),
    ("/memberships/<int:membership_id>", verification.membership, GET),
    ("/memberships/<int:membership_id>/verify", verification.verify_membership, POST),
    ("/memberships/<int:membership_id>/reject", verification.reject_membership, POST),
    ("/memberships/<int:membership_id>/revoke", verification.revoke_membership, POST),
    # what verifies claims without a decision
    ("/organizations/<slug>/roster", rosters.roster, FORM),
    ("/organizations/<slug>/domains", domains.domains, FORM),
    ("/domains/<int:rule_id>/delete", domains.delete_domain, POST),
    # LINK-J's corporate members (staff)
    ("/companies", companies.companies, FORM),
    # people and roles (admins)
    ("/people", people.people, GET),
    ("/people/<int:person_id>", people.person, GET),
    ("/people/<int:person_id>/roles", people.grant_role, POST),
    ("/people/<int:person_id>/roles/<role>/revoke", people.revoke_role, POST),
    ("/people/<int:person_id>/sign-out", people.sign_out, POST),
):
    blueprint.add_url_rule(rule, view_func=view, methods=methods)
