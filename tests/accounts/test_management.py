"""The membership management pages: who may see and do what (the role matrix), and the
verification stories: the queue, decisions, rosters, domain rules, corporate members, roles."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from portal.accounts import memberships
from portal.accounts.models import (
    Company,
    EmailDomainRule,
    Membership,
    MembershipStatus,
    Person,
    Role,
    RoleGrant,
    RosterUpload,
)
from portal.accounts.sessions import load_person_for_session
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.factories import (
    add_membership,
    add_person,
    org,
    recorded_statements,
    session_id_for,
)
from tests.roles import Action, Cast, build_cast, check_outcome, login, matrix

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def today() -> date:
    # BIOCOM's date (most of these pages are its admin's): its day starts hours after UTC's,
    # so UTC's yesterday may still be BIOCOM's today.
    return memberships.today(org("biocom"))


def in_days(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def fresh(record: Any) -> Any:
    """The record as the database has it now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get(type(record), record.id)


def status_of(membership: Membership) -> str:
    return fresh(membership).status


def count(model: type, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions(subject_type: str, subject_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.id)
        )
    )


def mail_kinds(to: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.to_address == to)
            .order_by(OutboxMessage.id)
        )
    )


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csv_upload(content: bytes, filename: str = "roster.csv") -> dict[str, Any]:
    return {"roster": (io.BytesIO(content), filename)}


def upload_roster(client: FlaskClient, content: bytes, slug: str = "biocom") -> TestResponse:
    return client.post(
        f"/admin/organizations/{slug}/roster",
        data=csv_upload(content),
        content_type="multipart/form-data",
        headers=EN,
        follow_redirects=True,
    )


# --- the role matrix --------------------------------------------------------------------------


ROSTER_CSV = b"email,valid_until\nhanako.sato@biocom-member.org,2099-03-31\n"

ACTIONS = [
    Action("queue", "GET", lambda c: "/admin/organizations/biocom/memberships"),
    Action("membership", "GET", lambda c: f"/admin/memberships/{c.pending.id}"),
    Action("roster", "GET", lambda c: "/admin/organizations/biocom/roster"),
    Action("domains", "GET", lambda c: "/admin/organizations/biocom/domains"),
    Action(
        "verify",
        "POST",
        lambda c: f"/admin/memberships/{c.pending.id}/verify",
        lambda c: {"valid_until": in_days(100)},
        done=lambda c: status_of(c.pending) == MembershipStatus.VERIFIED,
    ),
    Action(
        "reject",
        "POST",
        lambda c: f"/admin/memberships/{c.pending.id}/reject",
        lambda c: {"reason": "No member with number B-1001."},
        done=lambda c: status_of(c.pending) == MembershipStatus.REJECTED,
    ),
    Action(
        "revoke",
        "POST",
        lambda c: f"/admin/memberships/{c.verified.id}/revoke",
        lambda c: {"reason": "Left BIOCOM in June."},
        done=lambda c: status_of(c.verified) == MembershipStatus.REVOKED,
    ),
    Action(
        "bulk_verify",
        "POST",
        lambda c: "/admin/organizations/biocom/memberships/verify",
        lambda c: {"membership_ids": [str(c.pending.id)], "valid_until": in_days(100)},
        done=lambda c: status_of(c.pending) == MembershipStatus.VERIFIED,
    ),
    Action(
        "upload_roster",
        "POST",
        lambda c: "/admin/organizations/biocom/roster",
        lambda c: csv_upload(ROSTER_CSV),
        done=lambda c: count(RosterUpload, RosterUpload.organization_id == c.biocom.id) == 1,
        multipart=True,
    ),
    Action(
        "add_domain",
        "POST",
        lambda c: "/admin/organizations/biocom/domains",
        lambda c: {"domain": "biocom-member.org", "note": "members' addresses"},
        done=lambda c: count(EmailDomainRule, EmailDomainRule.domain == "biocom-member.org") == 1,
    ),
    Action(
        "delete_domain",
        "POST",
        lambda c: f"/admin/domains/{c.rule.id}/delete",
        done=lambda c: count(EmailDomainRule, EmailDomainRule.id == c.rule.id) == 0,
    ),
    Action("companies", "GET", lambda c: "/admin/companies"),
    Action(
        "create_company",
        "POST",
        lambda c: "/admin/companies",
        lambda c: {
            "name": "Acme Pharma K.K.",
            "email_domain": "acme-pharma.co.jp",
            "seat_count": "3",
            "primary_contact_email": c.company_contact.email,
        },
        done=lambda c: count(Company, Company.name == "Acme Pharma K.K.") == 1,
    ),
    Action("people", "GET", lambda c: "/admin/people"),
    Action("person", "GET", lambda c: f"/admin/people/{c.claimant.id}"),
    Action(
        "grant_role",
        "POST",
        lambda c: f"/admin/people/{c.claimant.id}/roles",
        lambda c: {
            "grant-role": "partner_admin",
            "grant-organization": "biocom",
            "grant-reason": "New membership officer at BIOCOM.",
        },
        done=lambda c: count(RoleGrant, RoleGrant.person_id == c.claimant.id) == 1,
    ),
    Action(
        "revoke_role",
        "POST",
        lambda c: f"/admin/people/{c.colleague.id}/roles/staff/revoke",
        lambda c: {"revoke-staff-reason": "Left the secretariat."},
        done=lambda c: count(RoleGrant, RoleGrant.person_id == c.colleague.id) == 0,
    ),
]

SEE_BIOCOM = {"queue", "membership", "roster", "domains"}
DECIDE_BIOCOM = {
    "verify",
    "reject",
    "revoke",
    "bulk_verify",
    "upload_roster",
    "add_domain",
    "delete_domain",
}
STAFF_ONLY = {"companies", "create_company"}
ADMIN_ONLY = {"people", "person", "grant_role", "revoke_role"}
assert {a.name for a in ACTIONS} == SEE_BIOCOM | DECIDE_BIOCOM | STAFF_ONLY | ADMIN_ONLY


def _outcomes(allowed: set[str], not_found: set[str]) -> dict[str, str | int]:
    return {
        a.name: "allowed" if a.name in allowed else 404 if a.name in not_found else 403
        for a in ACTIONS
    }


#: "login": redirected to sign in; "allowed": 200 for a page, done and redirected for a POST.
EXPECTED: dict[str, dict[str, str | int]] = {
    "anonymous": {a.name: "login" for a in ACTIONS},
    "unverified_member": _outcomes(set(), set()),
    "verified_member": _outcomes(set(), set()),
    "biocom_admin": _outcomes(SEE_BIOCOM | DECIDE_BIOCOM, set()),
    "ucsd_admin": _outcomes(set(), SEE_BIOCOM | DECIDE_BIOCOM),
    # Staff read partner queues but decide LINK-J memberships only.
    "staff": _outcomes(SEE_BIOCOM | STAFF_ONLY, DECIDE_BIOCOM),
    "admin": _outcomes(SEE_BIOCOM | STAFF_ONLY | ADMIN_ONLY, DECIDE_BIOCOM),
}


@pytest.mark.parametrize(("role", "action"), matrix(ACTIONS, EXPECTED))
def test_role_matrix(
    client: FlaskClient, matrix_world: Callable[..., Cast], role: str, action: Action
) -> None:
    cast = matrix_world(build_cast)
    login(client, cast.by_role(role))

    check_outcome(client, cast, action, EXPECTED[role][action.name])


def test_pages_refused_to_others_never_show_biocom_members(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.ucsd_admin)

    html = page_text(client.get(f"/admin/memberships/{cast.pending.id}", headers=EN))

    assert "hanako.sato@biocom-member.org" not in html
    assert "Page not found" in html


# --- the queue --------------------------------------------------------------------------------


def test_queue_shows_pending_claims_with_kana_for_japanese_readers(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    html = page_text(client.get("/admin/organizations/biocom/memberships", headers=JA))

    assert "佐藤 花子" in html
    assert "サトウ ハナコ" in html
    assert "hanako.sato@biocom-member.org" in html
    assert "B-1001" in html
    assert "jane.doe@example.edu" not in html  # verified, not in the pending tab
    assert f'name="membership_ids" value="{cast.pending.id}"' in html


def test_queue_search_finds_by_member_number(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    html = page_text(
        client.get("/admin/organizations/biocom/memberships?status=all&q=b-1001", headers=EN)
    )

    assert "hanako.sato@biocom-member.org" in html
    assert "wait.ing@example.com" not in html
    assert "jane.doe@example.edu" not in html


def test_staff_read_a_partner_queue_without_decision_forms(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.staff)

    html = page_text(client.get("/admin/organizations/biocom/memberships", headers=EN))
    detail = page_text(client.get(f"/admin/memberships/{cast.pending.id}", headers=EN))

    assert "hanako.sato@biocom-member.org" in html
    assert "membership_ids" not in html
    assert "/memberships/verify" not in html
    assert "/verify" not in detail and "/reject" not in detail


def test_staff_verify_link_j_memberships(client: FlaskClient, cast: Cast) -> None:
    researcher = add_person("ken@u-tokyo.ac.jp", family_name="山田", given_name="健")
    claim = add_membership(researcher, cast.hub)
    login(client, cast.staff)

    response = client.post(
        f"/admin/memberships/{claim.id}/verify", data={"valid_until": in_days(30)}, headers=EN
    )

    assert response.status_code == 302
    assert status_of(claim) == MembershipStatus.VERIFIED


# --- deciding one membership ------------------------------------------------------------------


def test_approve_with_the_default_end_of_the_membership_year(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)
    default_end = memberships.default_validity_end(cast.biocom, today())

    form = page_text(client.get(f"/admin/memberships/{cast.pending.id}", headers=EN))
    prefilled = re.search(r'name="valid_until" required type="date" value="([\d-]+)"', form)
    assert prefilled is not None and prefilled.group(1) == default_end.isoformat()

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/verify",
        data={"valid_until": prefilled.group(1), "note": "Checked against our CRM."},
        headers=EN,
        follow_redirects=True,
    )

    membership = fresh(cast.pending)
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.valid_until == default_end
    assert membership.verified_via == "manual"
    assert membership.decided_by_id == cast.biocom_admin.id
    assert audit_actions("membership", membership.id) == ["membership.verify"]
    assert mail_kinds(cast.claimant.email) == ["accounts/membership_verified"]
    html = page_text(response)
    assert "is verified as a member of BIOCOM" in html
    assert "Checked against our CRM." in html  # the history shows the note


def test_approve_with_an_explicit_end(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    client.post(
        f"/admin/memberships/{cast.pending.id}/verify",
        data={"valid_until": in_days(200)},
        headers=EN,
    )

    membership = fresh(cast.pending)
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.valid_until == today() + timedelta(days=200)


def test_approve_with_a_past_end_changes_nothing(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/verify",
        data={"valid_until": in_days(-1)},
        headers=EN,
        follow_redirects=True,
    )

    assert "The validity end cannot be in the past." in page_text(response)
    assert status_of(cast.pending) == MembershipStatus.PENDING
    assert audit_actions("membership", cast.pending.id) == []
    assert mail_kinds(cast.claimant.email) == []


def test_approve_without_a_date_shows_the_error_at_the_field(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/verify", data={"valid_until": ""}, headers=EN
    )

    assert response.status_code == 400
    html = page_text(response)
    assert 'aria-describedby="valid_until-hint valid_until-error"' in html
    assert 'id="valid_until-error"' in html
    assert status_of(cast.pending) == MembershipStatus.PENDING


def test_reject_with_a_reason_tells_the_person(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/reject",
        data={"reason": "No member with number B-1001; please check it."},
        headers=EN,
        follow_redirects=True,
    )

    membership = fresh(cast.pending)
    assert membership.status == MembershipStatus.REJECTED
    assert membership.decision_reason == "No member with number B-1001; please check it."
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == cast.claimant.email)
    )
    assert message is not None and message.kind == "accounts/membership_rejected"
    assert "No member with number B-1001" in message.body_text
    assert audit_actions("membership", membership.id) == ["membership.reject"]
    assert "is rejected" in page_text(response)


def test_reject_with_an_empty_reason_changes_nothing(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/reject", data={"reason": "   "}, headers=EN
    )

    assert response.status_code == 400
    html = page_text(response)
    assert "Give a reason; the person will see it." in html
    assert 'id="reason-error"' in html
    assert status_of(cast.pending) == MembershipStatus.PENDING
    assert mail_kinds(cast.claimant.email) == []


def test_revoke_a_verified_membership(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    client.post(
        f"/admin/memberships/{cast.verified.id}/revoke",
        data={"reason": "Left BIOCOM in June."},
        headers=EN,
    )

    membership = fresh(cast.verified)
    assert membership.status == MembershipStatus.REVOKED
    assert membership.decision_reason == "Left BIOCOM in June."
    assert mail_kinds(cast.verified_member.email) == ["accounts/membership_revoked"]


def test_revoking_a_pending_claim_is_refused_with_a_message(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/revoke",
        data={"reason": "Mistake"},
        headers=EN,
        follow_redirects=True,
    )

    assert "Only verified memberships can be revoked." in page_text(response)
    assert status_of(cast.pending) == MembershipStatus.PENDING


def test_detail_offers_only_the_forms_of_the_current_state(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    pending = page_text(client.get(f"/admin/memberships/{cast.pending.id}", headers=EN))
    verified = page_text(client.get(f"/admin/memberships/{cast.verified.id}", headers=EN))

    assert f"/admin/memberships/{cast.pending.id}/verify" in pending
    assert f"/admin/memberships/{cast.pending.id}/reject" in pending
    assert "/revoke" not in pending
    assert f"/admin/memberships/{cast.verified.id}/revoke" in verified
    assert "/verify" not in verified and "/reject" not in verified


# --- bulk approval ----------------------------------------------------------------------------


def test_bulk_approve_verifies_only_the_organizations_own_pending_claims(
    client: FlaskClient, cast: Cast
) -> None:
    ucsd_claim = add_membership(
        add_person("postdoc@ucsd.edu", family_name="Lee", given_name="Ann"), cast.ucsd
    )
    waiting = cast.unverified_member.memberships[0]
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/memberships/verify",
        data={
            "membership_ids": [str(cast.pending.id), str(waiting.id), str(ucsd_claim.id)],
            "valid_until": in_days(90),
        },
        headers=EN,
        follow_redirects=True,
    )

    assert status_of(cast.pending) == MembershipStatus.VERIFIED
    assert status_of(waiting) == MembershipStatus.VERIFIED
    assert fresh(waiting).valid_until == today() + timedelta(days=90)
    assert status_of(ucsd_claim) == MembershipStatus.PENDING
    assert "2 memberships verified" in page_text(response)


def test_bulk_approve_with_nothing_selected_says_so(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/memberships/verify",
        data={"valid_until": in_days(90)},
        headers=EN,
        follow_redirects=True,
    )

    assert "Select at least one membership." in page_text(response)
    assert status_of(cast.pending) == MembershipStatus.PENDING


# --- rosters ----------------------------------------------------------------------------------


def test_roster_in_utf8_with_bom_verifies_a_matching_confirmed_claim(
    client: FlaskClient, cast: Cast
) -> None:
    end = today().replace(year=today().year + 2)
    unconfirmed = add_person(
        "new.member@example.org", family_name="New", given_name="Member", confirmed=False
    )
    unconfirmed_claim = add_membership(unconfirmed, cast.biocom)
    content = (
        "member_number,email,valid_until\n"
        f"B-1001,Hanako.Sato@biocom-member.org,{end.isoformat()}\n"
        f"B-1002,new.member@example.org,{end.isoformat()}\n"
        f"B-1003,jane.doe@example.edu,{end.isoformat()}\n"
    ).encode("utf-8-sig")
    login(client, cast.biocom_admin)

    response = upload_roster(client, content)

    membership = fresh(cast.pending)
    assert membership.status == MembershipStatus.VERIFIED
    assert membership.verified_via == "roster"
    assert membership.valid_until == end
    # Automatic verification needs a confirmed address.
    assert status_of(unconfirmed_claim) == MembershipStatus.PENDING
    upload = db.session.scalar(select(RosterUpload))
    assert upload is not None
    assert (upload.encoding, upload.row_count, upload.uploaded_by_id) == (
        "utf-8-sig",
        3,
        cast.biocom_admin.id,
    )
    html = page_text(response)
    assert "Rows: 3. Claims verified: 1." in html
    assert "Members listed" in html


def test_roster_from_japanese_excel_in_shift_jis(client: FlaskClient, cast: Cast) -> None:
    researcher = add_person("k.tanaka@kyoto-bio.jp", family_name="田中", given_name="一")
    claim = add_membership(researcher, cast.biocom, member_number="ｂ－７７")
    content = (
        "会員番号,メールアドレス,有効期限\nB-77,,2099/3/31\nB-78,hanako.sato@biocom-member.org,\n"
    ).encode("cp932")
    login(client, cast.biocom_admin)

    response = upload_roster(client, content)

    assert status_of(claim) == MembershipStatus.VERIFIED
    assert fresh(claim).valid_until == date(2099, 3, 31)
    assert status_of(cast.pending) == MembershipStatus.VERIFIED
    upload = db.session.scalar(select(RosterUpload))
    assert upload is not None and upload.encoding == "cp932"
    assert "Shift_JIS" in page_text(response)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,phone\nTaro,0312345678\n", "The first row must name a member number column"),
        (
            b"email,organization\nhanako.sato@biocom-member.org,UCSD\n",
            "names another organization (UCSD)",
        ),
        (
            b"email\nTaro@Example.org\ntaro@example.org\n",
            "Line 3 repeats taro@example.org (first on line 2)",
        ),
    ],
    ids=["wrong columns", "another organization", "same email in another case"],
)
def test_a_bad_roster_imports_nothing(
    client: FlaskClient, cast: Cast, content: bytes, message: str
) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/roster",
        data=csv_upload(content),
        content_type="multipart/form-data",
        headers=EN,
    )

    assert response.status_code == 400
    assert message in page_text(response)
    assert count(RosterUpload) == 0
    assert status_of(cast.pending) == MembershipStatus.PENDING


def test_roster_upload_without_a_file_asks_for_one(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/roster",
        data={},
        content_type="multipart/form-data",
        headers=EN,
    )

    assert response.status_code == 400
    assert "Choose a CSV file to upload." in page_text(response)
    assert count(RosterUpload) == 0


def test_a_new_roster_flags_verified_members_no_longer_on_it(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    response = upload_roster(client, b"email\nsomeone.else@biocom-member.org\n")

    membership = fresh(cast.verified)
    assert membership.status == MembershipStatus.VERIFIED  # flagged for review, not revoked
    assert membership.missing_from_roster_since is not None
    assert "flagged for review: 1." in page_text(response)
    flagged = page_text(
        client.get("/admin/organizations/biocom/memberships?status=flagged", headers=EN)
    )
    assert "jane.doe@example.edu" in flagged
    assert "Not on the latest roster (since" in flagged
    assert "hanako.sato@biocom-member.org" not in flagged


def test_roster_page_explains_columns_and_encodings(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    html = page_text(client.get("/admin/organizations/biocom/roster", headers=EN))

    for text in ("会員番号", "メールアドレス", "有効期限", "member_number", "valid_until"):
        assert text in html
    assert "Shift_JIS" in html and "UTF-8" in html
    assert 'enctype="multipart/form-data"' in html


# --- email-domain rules -----------------------------------------------------------------------


def test_a_free_mail_domain_is_refused(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/domains", data={"domain": "gmail.com"}, headers=EN
    )

    assert response.status_code == 400
    assert "Anyone can have an address at gmail.com" in page_text(response)
    assert count(EmailDomainRule, EmailDomainRule.domain == "gmail.com") == 0


def test_a_domain_rule_verifies_matching_confirmed_pending_claims(
    client: FlaskClient, cast: Cast
) -> None:
    unconfirmed = add_person(
        "late@biocom-member.org", family_name="Late", given_name="Confirmer", confirmed=False
    )
    unconfirmed_claim = add_membership(unconfirmed, cast.biocom)
    login(client, cast.biocom_admin)

    response = client.post(
        "/admin/organizations/biocom/domains",
        data={"domain": "@Biocom-Member.org", "note": "Member companies' shared domain"},
        headers=EN,
        follow_redirects=True,
    )

    rule = db.session.scalar(
        select(EmailDomainRule).where(EmailDomainRule.domain == "biocom-member.org")
    )
    assert rule is not None and rule.organization_id == cast.biocom.id
    assert fresh(cast.pending).verified_via == "domain_rule"
    assert status_of(unconfirmed_claim) == MembershipStatus.PENDING
    assert "1 pending claim was verified at once" in page_text(response)


def test_delete_own_domain_rule(client: FlaskClient, cast: Cast) -> None:
    rule_id = cast.rule.id
    login(client, cast.biocom_admin)

    response = client.post(f"/admin/domains/{rule_id}/delete", headers=EN)

    assert response.status_code == 302
    assert count(EmailDomainRule, EmailDomainRule.id == rule_id) == 0
    assert audit_actions("email_domain_rule", rule_id) == ["domain_rule.remove"]


def test_delete_a_domain_rule_of_another_organization_is_not_found(
    client: FlaskClient, cast: Cast
) -> None:
    ucsd_rule = EmailDomainRule(organization_id=cast.ucsd.id, domain="ucsd.edu")
    db.session.add(ucsd_rule)
    db.session.commit()
    login(client, cast.biocom_admin)

    response = client.post(f"/admin/domains/{ucsd_rule.id}/delete", headers=EN)

    assert response.status_code == 404
    assert count(EmailDomainRule, EmailDomainRule.id == ucsd_rule.id) == 1


# --- corporate members ------------------------------------------------------------------------


def test_staff_create_a_corporate_member(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.staff)

    response = client.post(
        "/admin/companies",
        data={
            "name": "Acme Pharma K.K.",
            "email_domain": "acme-pharma.co.jp",
            "seat_count": "4",
            "primary_contact_email": "KENJI@acme-pharma.co.jp",
        },
        headers=EN,
        follow_redirects=True,
    )

    company = db.session.scalar(select(Company))
    assert company is not None
    assert (company.seat_count, company.primary_contact_id) == (4, cast.company_contact.id)
    html = page_text(response)
    assert "Acme Pharma K.K." in html
    assert "1 of 4" in html


def test_company_with_an_unknown_primary_contact_is_refused_at_the_field(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.staff)

    response = client.post(
        "/admin/companies",
        data={
            "name": "Acme Pharma K.K.",
            "email_domain": "acme-pharma.co.jp",
            "seat_count": "4",
            "primary_contact_email": "nobody@acme-pharma.co.jp",
        },
        headers=EN,
    )

    assert response.status_code == 400
    html = page_text(response)
    assert "No account uses this address." in html
    assert 'id="primary_contact_email-error"' in html
    assert count(Company) == 0


# --- people and roles -------------------------------------------------------------------------


def test_admin_grants_and_revokes_a_role_with_an_audit_entry(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.admin)

    client.post(
        f"/admin/people/{cast.claimant.id}/roles",
        data={
            "grant-role": "partner_admin",
            "grant-organization": "biocom",
            "grant-reason": "New membership officer.",
        },
        headers=EN,
    )

    person = fresh(cast.claimant)
    assert person.has_role(Role.PARTNER_ADMIN, cast.biocom.id)
    grant = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "role.grant", AuditEntry.subject_id == cast.claimant.id
        )
    )
    assert grant is not None
    assert (grant.actor_id, grant.subject_id, grant.reason) == (
        cast.admin.id,
        cast.claimant.id,
        "New membership officer.",
    )
    claimant_session = session_id_for(cast.claimant)

    response = client.post(
        f"/admin/people/{cast.claimant.id}/roles/partner_admin/revoke",
        data={"revoke-partner_admin-reason": "Moved to another team."},
        headers=EN,
        follow_redirects=True,
    )

    person = fresh(cast.claimant)
    assert not person.role_grants
    assert load_person_for_session(claimant_session) is None  # rule 15: at once
    revoke = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "role.revoke", AuditEntry.subject_id == cast.claimant.id
        )
    )
    assert revoke is not None
    assert (revoke.actor_id, revoke.reason) == (cast.admin.id, "Moved to another team.")
    assert "is no longer Partner admin" in page_text(response)


def test_partner_admin_role_needs_an_organization(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.admin)

    response = client.post(
        f"/admin/people/{cast.claimant.id}/roles",
        data={"grant-role": "partner_admin", "grant-organization": "", "grant-reason": "x"},
        headers=EN,
        follow_redirects=True,
    )

    assert "Choose the organization this partner admin acts for." in page_text(response)
    assert count(RoleGrant, RoleGrant.person_id == cast.claimant.id) == 0


def test_revoking_a_role_needs_a_reason(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.admin)

    response = client.post(
        f"/admin/people/{cast.colleague.id}/roles/staff/revoke",
        data={"revoke-staff-reason": ""},
        headers=EN,
    )

    assert response.status_code == 400
    assert "Give a reason for the audit log." in page_text(response)
    assert fresh(cast.colleague).is_staff


def test_people_search_shows_roles(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.admin)

    html = page_text(client.get("/admin/people?q=admin@", headers=EN))

    assert "admin@biocom.org" in html and "admin@ucsd.edu" in html
    assert "Partner admin (BIOCOM)" in html
    assert "hanako.sato@biocom-member.org" not in html


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("csrf_enabled")
def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/reject", data={"reason": "Forged"}, headers=EN
    )

    assert response.status_code == 400
    assert status_of(cast.pending) == MembershipStatus.PENDING


@pytest.mark.usefixtures("csrf_enabled")
def test_the_token_in_the_page_lets_the_form_through(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)
    html = page_text(client.get(f"/admin/memberships/{cast.pending.id}", headers=EN))
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None

    response = client.post(
        f"/admin/memberships/{cast.pending.id}/reject",
        data={"reason": "Not in our records.", "csrf_token": token.group(1)},
        headers=EN,
    )

    assert response.status_code == 302
    assert status_of(cast.pending) == MembershipStatus.REJECTED


def test_admin_pages_are_not_cached(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.biocom_admin)

    response = client.get("/admin/organizations/biocom/memberships", headers=EN)

    assert response.headers["Cache-Control"] == "no-store"


def test_the_cast_aims_at_biocom_records_in_the_right_states(cast: Cast) -> None:
    # Guards the fixtures the matrix relies on: targets are BIOCOM's and in the right state.
    assert isinstance(cast.claimant, Person)
    assert cast.pending.organization_id == cast.biocom.id
    assert cast.pending.status == MembershipStatus.PENDING
    assert cast.verified.status == MembershipStatus.VERIFIED
    assert cast.rule.organization_id == cast.biocom.id


# --- query count ------------------------------------------------------------------------------


def test_the_queue_costs_the_same_queries_for_many_rows_as_for_few(
    client: FlaskClient, cast: Cast, no_page_cache: None
) -> None:
    login(client, cast.biocom_admin)
    url = "/admin/organizations/biocom/memberships?status=all"
    client.get(url, headers=JA)
    with recorded_statements() as statements:
        client.get(url, headers=JA)
    few = len(statements)
    for n in range(20):
        add_membership(
            add_person(f"member{n}@example.org", family_name="会員", given_name=str(n)), cast.biocom
        )

    with recorded_statements() as statements:
        html = page_text(client.get(url, headers=JA))

    assert "member19@example.org" in html
    assert len(statements) == few
