"""The benefit pages: who may see and do what (the role matrix), forms, messages and exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from portal.accounts.memberships import today
from portal.benefits.models import BenefitClaim, BenefitCode, ClaimStatus
from portal.extensions import db
from portal.organizations.models import Agreement, Organization, ReciprocalService
from tests.factories import add_claim, add_member, add_service, audit, fresh
from tests.roles import Action, Story, build_story, login, matrix, take

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def count(model: type, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def claim_status(claim_id: int) -> str:
    db.session.expire_all()
    claim = db.session.get(BenefitClaim, claim_id)
    assert claim is not None
    return claim.status


@dataclass
class Cast:
    """The story, plus the records the actions aim at."""

    story: Story
    #: Taro's claim on One Nucleus's member rate, waiting for One Nucleus.
    open_claim: BenefitClaim
    #: Another LINK-J member's granted claim on the member rate.
    granted_claim: BenefitClaim
    #: Alice's claim on LINK-J's desk day, waiting for LINK-J's staff.
    desk_claim: BenefitClaim
    #: A One Nucleus service nobody claimed (deletable).
    spare: ReciprocalService

    def by_role(self, role: str) -> Any:
        return {
            "anonymous": None,
            "unverified_member": self.story.pending_member,
            "verified_member": self.story.taro,
            "provider_admin": self.story.one_nucleus_admin,
            "other_admin": self.story.ucsd_admin,
            "staff": self.story.staff,
            "admin": self.story.admin,
        }[role]


def build_cast() -> Cast:
    """The benefit stories' cast (tests/roles.py) and the claims the actions aim at."""
    return build_cast_for(build_story())


@pytest.fixture
def cast(story: Story) -> Cast:
    return build_cast_for(story)


def build_cast_for(story: Story) -> Cast:
    open_claim = add_claim(story.taro, story.member_rate)
    other, _ = add_member("link-j")
    granted_claim = add_claim(
        other,
        story.member_rate,
        status=ClaimStatus.APPROVED,
        decided_by=story.one_nucleus_admin,
        code="ON-0003",
    )
    desk_claim = add_claim(story.alice, story.desk_day)
    spare = add_service("link-j-one-nucleus-2017", "one-nucleus", title_en="Spare")
    return Cast(story, open_claim, granted_claim, desk_claim, spare)


# --- the role matrix ------------------------------------------------------------------------

MOU = "link-j-one-nucleus-2017"
CODES_CSV = b"code\nON-0900\nON-0901\n"


def service_terms(title: str, provider: Callable[[Cast], int]) -> Callable[[Cast], dict[str, Any]]:
    return lambda c: {
        "provider": str(provider(c)),
        "category": "member_services",
        "title_en": title,
        "title_ja": "",
        "claimable": "y",
        "limit_period": "year",
        "redemption": "instructions",
        "redemption_instructions_en": "Write to the membership desk with your member number.",
        "redemption_instructions_ja": "会員番号を添えて会員窓口へご連絡ください。",
    }


ACTIONS = [
    # The member's pages.
    Action("catalogue", "GET", lambda c: "/benefits"),
    Action("my_claims", "GET", lambda c: "/benefits/claims"),
    Action(
        "claim",
        "POST",
        lambda c: f"/benefits/services/{c.story.digest.id}/claim",
        done=lambda c: count(BenefitClaim, BenefitClaim.service_id == c.story.digest.id) == 1,
    ),
    Action(
        "cancel",
        "POST",
        lambda c: f"/benefits/claims/{c.open_claim.id}/cancel",
        done=lambda c: claim_status(c.open_claim.id) == ClaimStatus.CANCELLED,
    ),
    # Organizations and MOUs (staff).
    Action("organizations", "GET", lambda c: "/admin/network/organizations"),
    Action("new_organization", "GET", lambda c: "/admin/network/organizations/new"),
    Action(
        "create_organization",
        "POST",
        lambda c: "/admin/network/organizations/new",
        lambda c: {
            "slug": "mva",
            "short_name": "MVA",
            "name_en": "Medicon Valley Alliance",
            "country": "DK",
            "timezone": "Europe/Copenhagen",
            "default_currency": "DKK",
            "membership_year_end_month": "12",
        },
        done=lambda c: count(Organization, Organization.slug == "mva") == 1,
    ),
    Action("edit_organization", "GET", lambda c: "/admin/network/organizations/biocom/edit"),
    Action(
        "save_organization",
        "POST",
        lambda c: "/admin/network/organizations/biocom/edit",
        lambda c: {
            "slug": "biocom",
            "short_name": "BIOCOM CA",
            "name_en": "BIOCOM California",
            "country": "US",
            "timezone": "America/Los_Angeles",
            "default_currency": "USD",
            "membership_year_end_month": "12",
        },
        done=lambda c: fresh(c.story.biocom).short_name == "BIOCOM CA",
    ),
    Action("mous", "GET", lambda c: "/admin/mous"),
    Action("mou", "GET", lambda c: f"/admin/mous/{MOU}"),
    Action("new_mou", "GET", lambda c: "/admin/mous/new"),
    Action(
        "create_mou",
        "POST",
        lambda c: "/admin/mous/new",
        lambda c: {
            "partner": str(c.story.biocom.id),
            "signed_on": "2026-05-01",
            "status": "active",
        },
        done=lambda c: count(Agreement, Agreement.slug == "link-j-biocom-2026") == 1,
    ),
    Action("edit_mou", "GET", lambda c: f"/admin/mous/{MOU}/edit"),
    Action(
        "save_mou",
        "POST",
        lambda c: f"/admin/mous/{MOU}/edit",
        lambda c: {
            "partner": str(c.story.one_nucleus.id),
            "signed_on": "2017-12-01",
            "status": "suspended",
        },
        done=lambda c: (
            count(Agreement, Agreement.slug == MOU, Agreement.status == "suspended") == 1
        ),
    ),
    # Services of the One Nucleus MOU.
    Action("new_service", "GET", lambda c: f"/admin/mous/{MOU}/services/new"),
    Action(
        "create_service",
        "POST",
        lambda c: f"/admin/mous/{MOU}/services/new",
        service_terms("Genesis stand discount", lambda c: c.story.one_nucleus.id),
        done=lambda c: (
            count(ReciprocalService, ReciprocalService.title_en == "Genesis stand discount") == 1
        ),
    ),
    Action("edit_service", "GET", lambda c: f"/admin/services/{c.story.member_rate.id}/edit"),
    Action(
        "save_service",
        "POST",
        lambda c: f"/admin/services/{c.story.member_rate.id}/edit",
        service_terms("Member rate 2027", lambda c: c.story.one_nucleus.id),
        done=lambda c: fresh(c.story.member_rate).title_en == "Member rate 2027",
    ),
    Action("edit_link_j_service", "GET", lambda c: f"/admin/services/{c.story.desk_day.id}/edit"),
    Action(
        "delete_service",
        "POST",
        lambda c: f"/admin/services/{c.spare.id}/delete",
        done=lambda c: count(ReciprocalService, ReciprocalService.id == c.spare.id) == 0,
    ),
    Action("codes", "GET", lambda c: f"/admin/services/{c.story.member_rate.id}/codes"),
    Action(
        "upload_codes",
        "POST",
        lambda c: f"/admin/services/{c.story.member_rate.id}/codes",
        lambda c: {"codes": (io.BytesIO(CODES_CSV), "codes.csv")},
        done=lambda c: count(BenefitCode, BenefitCode.code == "ON-0900") == 1,
        multipart=True,
    ),
    # Claims.
    Action("claims", "GET", lambda c: "/admin/claims?status=all"),
    Action("claim_detail", "GET", lambda c: f"/admin/claims/{c.open_claim.id}"),
    Action(
        "approve",
        "POST",
        lambda c: f"/admin/claims/{c.open_claim.id}/approve",
        lambda c: {"note": "Welcome to Genesis."},
        done=lambda c: claim_status(c.open_claim.id) == ClaimStatus.APPROVED,
    ),
    Action(
        "reject",
        "POST",
        lambda c: f"/admin/claims/{c.open_claim.id}/reject",
        lambda c: {"reason": "Sold out."},
        done=lambda c: claim_status(c.open_claim.id) == ClaimStatus.REJECTED,
    ),
    Action(
        "fulfil",
        "POST",
        lambda c: f"/admin/claims/{c.granted_claim.id}/fulfil",
        done=lambda c: claim_status(c.granted_claim.id) == ClaimStatus.FULFILLED,
    ),
    Action(
        "approve_link_j_claim",
        "POST",
        lambda c: f"/admin/claims/{c.desk_claim.id}/approve",
        done=lambda c: claim_status(c.desk_claim.id) == ClaimStatus.APPROVED,
    ),
    # The reciprocity report.
    Action("report", "GET", lambda c: "/admin/report"),
    Action("report_of_the_mou", "GET", lambda c: f"/admin/report?mou={MOU}&period=year"),
    Action("report_csv", "GET", lambda c: f"/admin/report.csv?mou={MOU}"),
]

MEMBER_PAGES = {"catalogue", "my_claims"}
ADMIN_AREA = {"mous", "claims", "report"}
SEE_ONE_NUCLEUS = {
    "mou",
    "new_service",
    "create_service",
    "edit_service",
    "save_service",
    "delete_service",
    "codes",
    "upload_codes",
    "claim_detail",
    "report_of_the_mou",
    "report_csv",
}
DECIDE_ONE_NUCLEUS = {"approve", "reject", "fulfil"}
STAFF_ONLY = {
    "organizations",
    "new_organization",
    "create_organization",
    "edit_organization",
    "save_organization",
    "new_mou",
    "create_mou",
    "edit_mou",
    "save_mou",
}
LINK_J_SERVICES = {"edit_link_j_service", "approve_link_j_claim"}
assert {a.name for a in ACTIONS} == (
    MEMBER_PAGES
    | {"claim", "cancel"}
    | ADMIN_AREA
    | SEE_ONE_NUCLEUS
    | DECIDE_ONE_NUCLEUS
    | STAFF_ONLY
    | LINK_J_SERVICES
)
ADMIN_ACTIONS = ADMIN_AREA | SEE_ONE_NUCLEUS | DECIDE_ONE_NUCLEUS | STAFF_ONLY | LINK_J_SERVICES


def _outcomes(
    allowed: set[str], not_found: set[str] = frozenset(), refused: set[str] = frozenset()
) -> dict[str, str | int]:
    """Everything else in the admin area is 403 (the blueprint's role check)."""
    result: dict[str, str | int] = {}
    for action in ACTIONS:
        if action.name in allowed:
            result[action.name] = "allowed"
        elif action.name in not_found:
            result[action.name] = 404
        elif action.name in refused:
            result[action.name] = "refused"
        else:
            result[action.name] = 403
    return result


#: "login": sent to sign in; "allowed": 200, or done and redirected; "refused": redirected
#: back with a message and nothing done.
EXPECTED: dict[str, dict[str, str | int]] = {
    "anonymous": {a.name: "login" for a in ACTIONS},
    # Pending membership: sees the catalogue with the reason, cannot claim.
    "unverified_member": _outcomes(MEMBER_PAGES, {"cancel"}, {"claim"}),
    "verified_member": _outcomes(MEMBER_PAGES | {"claim", "cancel"}),
    "provider_admin": _outcomes(
        MEMBER_PAGES | ADMIN_AREA | SEE_ONE_NUCLEUS | DECIDE_ONE_NUCLEUS,
        {"cancel"} | LINK_J_SERVICES,
        {"claim"},
    ),
    "other_admin": _outcomes(
        MEMBER_PAGES | ADMIN_AREA,
        {"cancel"} | SEE_ONE_NUCLEUS | DECIDE_ONE_NUCLEUS | LINK_J_SERVICES,
        {"claim"},
    ),
    # Staff manage everything and decide LINK-J's claims, not the partners'.
    "staff": _outcomes(
        MEMBER_PAGES | ADMIN_AREA | SEE_ONE_NUCLEUS | STAFF_ONLY | LINK_J_SERVICES,
        {"cancel"} | DECIDE_ONE_NUCLEUS,
        {"claim"},
    ),
    "admin": _outcomes(
        MEMBER_PAGES | ADMIN_AREA | SEE_ONE_NUCLEUS | STAFF_ONLY | LINK_J_SERVICES,
        {"cancel"} | DECIDE_ONE_NUCLEUS,
        {"claim"},
    ),
}


#: A refused claim takes the member's lock (a no-op UPDATE) before it is refused: a write case.
CASES = matrix(
    ACTIONS,
    EXPECTED,
    writes=lambda a, outcome: a.method != "GET" and outcome in ("allowed", "refused"),
)


@pytest.mark.parametrize(("role", "action"), CASES)
def test_role_matrix(
    client: FlaskClient, matrix_world: Callable[..., Cast], role: str, action: Action
) -> None:
    cast = matrix_world(build_cast)
    login(client, cast.by_role(role))
    expected = EXPECTED[role][action.name]

    response = take(client, cast, action)

    location = urlsplit(response.location or "").path
    if expected == "login":
        assert response.status_code == 302 and location == "/login"
    elif expected == "allowed" and action.method == "GET":
        assert response.status_code == 200
    elif expected == "allowed":
        assert response.status_code == 302, page_text(response)
        area = "/admin/" if action.name in ADMIN_ACTIONS else "/benefits"
        assert location.startswith(area)
    elif expected == "refused":
        assert response.status_code == 302 and location == "/benefits"
    else:
        assert response.status_code == expected, page_text(response)[:2000]
    if action.done is not None:
        assert action.done(cast) is (expected == "allowed")


def test_another_partners_claim_page_shows_nothing_of_it(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.ucsd_admin)

    html = page_text(client.get(f"/admin/claims/{cast.open_claim.id}", headers=EN))

    assert cast.story.taro.email not in html
    assert "Page not found" in html


def test_a_partner_admins_claim_list_holds_only_their_organizations_claims(
    client: FlaskClient, cast: Cast
) -> None:
    add_claim(cast.story.taro, cast.story.introductions)  # a BIOCOM claim
    login(client, cast.story.one_nucleus_admin)

    html = page_text(client.get("/admin/claims?status=all", headers=EN))

    assert "Member rate at Genesis" in html
    assert "Introductions to BIOCOM members" not in html
    assert "Desk day in Nihonbashi" not in html


def test_a_partner_admin_sees_only_their_own_mou_listed_and_reported(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.one_nucleus_admin)

    mous = page_text(client.get("/admin/mous", headers=EN))
    report = page_text(client.get("/admin/report?period=year", headers=EN))

    assert "/admin/mous/link-j-one-nucleus-2017" in mous
    assert "/admin/mous/link-j-biocom-2016" not in mous
    assert "One Nucleus → LINK-J" in report
    assert "BIOCOM → LINK-J" not in report


# --- the member's pages ---------------------------------------------------------------------


def test_the_catalogue_groups_by_mou_and_provider_and_says_why_not(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.taro)

    html = page_text(client.get("/benefits", headers=EN))

    assert "MOU between LINK-J and One Nucleus" in html
    assert "From One Nucleus, for LINK-J members" in html
    assert "From BIOCOM, for LINK-J members" in html
    # Taro's open claim on the member rate: no button, the reason and a link instead.
    assert f'action="/benefits/services/{cast.story.member_rate.id}/claim"' not in html
    assert "You asked for it already; the provider will decide." in html
    assert f'action="/benefits/services/{cast.story.introductions.id}/claim"' in html
    assert "2 claims per year" in html
    assert "One Nucleus approves each claim" in html
    # LINK-J's desk day is for One Nucleus members: not in a LINK-J member's catalogue.
    assert "Desk day in Nihonbashi" not in html


def test_the_catalogue_in_japanese(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.taro)

    html = page_text(client.get("/benefits", headers=JA))

    assert "Genesis会員価格" in html
    assert "BIOCOM会員の紹介" in html


def test_a_pending_member_sees_the_catalogue_with_the_reason(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.pending_member)

    html = page_text(client.get("/benefits", headers=EN))

    assert "Your LINK-J membership is waiting to be verified." in html
    assert '/claim"' not in html  # no Claim button anywhere


def test_claiming_redirects_to_my_claims_with_the_instructions(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.taro)

    response = client.post(
        f"/benefits/services/{cast.story.introductions.id}/claim",
        headers=EN,
        follow_redirects=True,
    )

    html = page_text(response)
    assert "Granted: Introductions to BIOCOM members." in html
    assert "Write to intros@biocom.example." in html
    assert count(BenefitClaim, BenefitClaim.service_id == cast.story.introductions.id) == 1


def test_a_refused_claim_says_why_on_the_catalogue(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.taro)

    response = client.post(
        f"/benefits/services/{cast.story.member_rate.id}/claim",
        headers=EN,
        follow_redirects=True,
    )

    assert "You asked for it already; the provider will decide." in page_text(response)
    assert count(BenefitClaim, BenefitClaim.person_id == cast.story.taro.id) == 1


def test_my_claims_show_the_code_once_granted_and_cancel_while_waiting(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.taro)
    html = page_text(client.get("/benefits/claims", headers=EN))
    assert "Waiting for a decision" in html
    assert f'action="/benefits/claims/{cast.open_claim.id}/cancel"' in html
    assert "ON-0001" not in html

    from portal.benefits import services

    services.approve_claim(fresh(cast.open_claim), actor=cast.story.one_nucleus_admin)
    html = page_text(client.get("/benefits/claims", headers=EN))

    assert "ON-0001" in html
    assert "Enter the code at checkout." in html
    assert "/cancel" not in html


def test_the_dashboard_shows_a_claim_decided_since_the_last_visit_once(
    client: FlaskClient, cast: Cast
) -> None:
    from portal.benefits import services

    services.approve_claim(fresh(cast.open_claim), actor=cast.story.one_nucleus_admin)
    login(client, cast.story.taro)

    html = page_text(client.get("/account", headers=EN))

    assert "Claims decided since your last visit" in html
    assert "Member rate at Genesis" in html and "ON-0001" in html
    assert f'href="/benefits/claims#claim-{cast.open_claim.id}"' in html  # how to use it
    assert 'href="/benefits"' in html
    # Seen: the next visit has no news (the claim stays on the claims page).
    assert "Claims decided since your last visit" not in page_text(
        client.get("/account", headers=EN)
    )


def test_the_header_links_to_benefits_once_logged_in(client: FlaskClient, cast: Cast) -> None:
    assert 'href="/benefits"' not in page_text(client.get("/", headers=EN))
    login(client, cast.story.taro)
    assert 'href="/benefits"' in page_text(client.get("/", headers=EN))


def test_claiming_needs_a_csrf_token(client: FlaskClient, cast: Cast, csrf_enabled: None) -> None:
    login(client, cast.story.taro)

    response = client.post(f"/benefits/services/{cast.story.digest.id}/claim", headers=EN)

    assert response.status_code in (302, 400)
    assert count(BenefitClaim, BenefitClaim.service_id == cast.story.digest.id) == 0


def test_member_pages_are_not_cached(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.taro)

    assert client.get("/benefits/claims").headers["Cache-Control"] == "no-store"


# --- deciding -------------------------------------------------------------------------------


def test_the_claim_page_warns_when_the_claimant_can_no_longer_be_approved(
    client: FlaskClient, cast: Cast
) -> None:
    cast.story.taro_membership.valid_until = today(cast.story.hub) - timedelta(days=1)
    db.session.commit()
    login(client, cast.story.one_nucleus_admin)

    html = page_text(client.get(f"/admin/claims/{cast.open_claim.id}", headers=EN))
    assert "The claimant&#39;s LINK-J membership has expired." in html

    response = client.post(
        f"/admin/claims/{cast.open_claim.id}/approve", headers=EN, follow_redirects=True
    )
    assert "This claim cannot be approved" in page_text(response)
    assert claim_status(cast.open_claim.id) == ClaimStatus.REQUESTED


def test_rejecting_without_a_reason_shows_the_error_at_the_field(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.one_nucleus_admin)

    response = client.post(
        f"/admin/claims/{cast.open_claim.id}/reject", data={"reason": ""}, headers=EN
    )

    assert response.status_code == 400
    assert "Give a reason; the member will see it." in page_text(response)
    assert claim_status(cast.open_claim.id) == ClaimStatus.REQUESTED
    assert not audit("benefit_claim.reject")


# --- managing services ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title_en": "", "title_ja": ""}, "Give the service a title in Japanese or English."),
        ({"limit_per_member": "0"}, "A limit is at least 1 claim per member"),
        (
            {"valid_from": "2026-06-01", "valid_until": "2026-05-31"},
            "The last day to claim cannot be before the first day.",
        ),
    ],
)
def test_bad_service_terms_are_shown_at_the_field_and_nothing_is_saved(
    client: FlaskClient, cast: Cast, changes: dict[str, str], message: str
) -> None:
    login(client, cast.story.one_nucleus_admin)
    before = count(ReciprocalService)
    data = service_terms("Genesis stand discount", lambda c: c.story.one_nucleus.id)(cast)
    data.update(changes)

    response = client.post(f"/admin/mous/{MOU}/services/new", data=data, headers=EN)

    assert response.status_code == 400
    html = page_text(response)
    assert "Nothing was changed. Please correct:" in html
    assert message in html
    assert count(ReciprocalService) == before


def test_a_partner_admin_is_offered_only_their_own_direction(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.one_nucleus_admin)

    html = page_text(client.get(f"/admin/mous/{MOU}/services/new", headers=EN))

    assert "One Nucleus, for LINK-J members" in html
    assert "LINK-J, for One Nucleus members" not in html


def test_a_codes_file_with_duplicates_imports_nothing(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.one_nucleus_admin)

    response = client.post(
        f"/admin/services/{cast.story.member_rate.id}/codes",
        data={"codes": (io.BytesIO(b"ON-0800\nON-0800\n"), "codes.csv")},
        content_type="multipart/form-data",
        headers=EN,
    )

    assert response.status_code == 400
    assert "Codes listed more than once: ON-0800." in page_text(response)
    assert count(BenefitCode, BenefitCode.service_id == cast.story.member_rate.id) == 3


def test_deleting_a_claimed_service_explains_how_to_withdraw_it(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.staff)

    response = client.post(
        f"/admin/services/{cast.story.member_rate.id}/delete", headers=EN, follow_redirects=True
    )

    assert "set a last day to claim or make it not claimable" in page_text(response)
    assert count(ReciprocalService, ReciprocalService.id == cast.story.member_rate.id) == 1


def test_an_mou_ending_before_it_was_signed_is_refused_at_the_field(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.staff)
    before = count(Agreement)

    response = client.post(
        "/admin/mous/new",
        data={
            "partner": str(cast.story.biocom.id),
            "signed_on": "2026-05-01",
            "valid_until": "2026-04-30",
            "status": "active",
        },
        headers=EN,
    )

    assert response.status_code == 400
    assert "The MOU cannot end before the day it was signed." in page_text(response)
    assert count(Agreement) == before


# --- the report and its CSV -----------------------------------------------------------------


def test_the_csv_opens_in_excel(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.staff)

    response = client.get(f"/admin/report.csv?mou={MOU}&period=quarter", headers=JA)

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 2 * 4  # header; two directions, four quarters
    assert rows[0][0] == "覚書"
    year = today(cast.story.hub).year
    quarter = (today(cast.story.hub).month - 1) // 3 + 1
    from_one_nucleus = [
        r for r in rows[1:] if r[1] == "One Nucleus" and r[3] == f"{year}-Q{quarter}"
    ]
    assert from_one_nucleus == [
        # Claims made, granted, refused, the members who made them, registrations.
        [MOU, "One Nucleus", "LINK-J", f"{year}-Q{quarter}", "2", "1", "0", "2", "0"]
    ]


def test_the_report_page_has_a_table_and_a_chart_without_scripts(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.staff)

    html = page_text(client.get("/admin/report?period=year", headers=EN))

    assert '<svg class="report-chart"' in html
    assert "<script" not in html and "style=" not in html
    assert "<caption" in html
    assert "One Nucleus → LINK-J members" in html


def test_an_unknown_mou_in_the_report_is_not_found(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.story.staff)

    assert client.get("/admin/report?mou=nope").status_code == 404


# --- query counts ---------------------------------------------------------------------------


def _more_services_and_claims(cast: Cast, n: int) -> None:
    for i in range(n):
        service = add_service(
            "link-j-biocom-2016", "biocom", title_en=f"Extra {i}", redemption="code_pool"
        )
        add_claim(cast.story.taro, service, status=ClaimStatus.APPROVED)
        other, _ = add_member("link-j")
        add_claim(other, cast.story.introductions, status=ClaimStatus.REJECTED)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("taro", "/benefits"),
        ("taro", "/benefits/claims"),
        ("staff", "/admin/report"),
        ("staff", "/admin/claims?status=all"),
        ("one_nucleus_admin", f"/admin/mous/{MOU}"),
    ],
)
def test_pages_cost_the_same_queries_for_many_rows_as_for_few(
    client: FlaskClient, cast: Cast, count_queries: list[str], who: str, url: str
) -> None:
    login(client, getattr(cast.story, who))
    client.get(url, headers=JA)
    count_queries.clear()
    client.get(url, headers=JA)
    few = len(count_queries)
    _more_services_and_claims(cast, 15)

    count_queries.clear()
    response = client.get(url, headers=JA)

    assert response.status_code == 200
    assert len(count_queries) == few, "\n".join(count_queries)


# --- one claim per allowance, through the page ------------------------------------------------


def test_claiming_a_one_off_service_twice_refuses_the_second_and_changes_nothing(
    client: FlaskClient, cast: Cast
) -> None:
    from tests.factories import outbox

    login(client, cast.story.taro)
    url = f"/benefits/services/{cast.story.digest.id}/claim"
    first = client.post(url, headers=EN, follow_redirects=True)
    assert "Granted: UCSD research digest." in page_text(first)
    claims, entries, mails = count(BenefitClaim), len(audit()), len(outbox())

    second = client.post(url, headers=EN, follow_redirects=True)

    html = page_text(second)
    assert "You have claimed it already (1 claim in all)." in html
    assert urlsplit(second.request.url).path == "/benefits"
    assert (count(BenefitClaim), len(audit()), len(outbox())) == (claims, entries, mails)
    # The catalogue no longer offers it, and says so.
    catalogue = page_text(client.get("/benefits", headers=EN))
    assert f'action="{url}"' not in catalogue


def test_the_catalogue_says_how_often_each_service_can_be_claimed(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.story.taro)

    html = page_text(client.get("/benefits", headers=EN))

    assert "1 claim in all" in html  # UCSD's digest, which has no limit
    assert "2 claims per year" in html  # BIOCOM's introductions


# --- members in the report ----------------------------------------------------------------------


def _total_row(html: str, direction: str) -> list[str]:
    """The numbers of a direction's total row in the report's table."""
    import re

    body = next(b for b in html.split("<tbody>")[1:] if direction in b)
    total = body.split('<tr class="report-total">')[1].split("</tr>")[0]
    return re.findall(r'<td class="number">(\d+)</td>', total)


def test_the_report_page_and_csv_count_claims_and_the_members_who_made_them(
    client: FlaskClient, cast: Cast
) -> None:
    story = cast.story
    other, _ = add_member("link-j")
    add_claim(story.taro, story.introductions, status=ClaimStatus.APPROVED)
    add_claim(story.taro, story.introductions, status=ClaimStatus.APPROVED)
    add_claim(other, story.introductions, status=ClaimStatus.REJECTED)
    login(client, story.staff)
    query = "mou=link-j-biocom-2016&period=year"

    html = page_text(client.get(f"/admin/report?{query}", headers=EN))

    assert '<th scope="col" class="number">Members who claimed</th>' in html
    # Requested, granted, refused, members (then registrations): three claims by two members.
    assert _total_row(html, "BIOCOM → LINK-J members")[:4] == ["3", "2", "1", "2"]
    assert "3 · 2 members" in html  # beside the chart's bar

    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/admin/report.csv?{query}", headers=EN).data.decode("utf-8-sig")
            )
        )
    )
    members = rows[0].index("Members who claimed")
    assert rows[0][members - 3 : members] == [
        "Claims requested",
        "Claims granted",
        "Claims refused",
    ]
    this_year = str(today(story.hub).year)
    [biocom_now] = [r for r in rows[1:] if r[1] == "BIOCOM" and r[3] == this_year]
    assert biocom_now[members - 3 : members + 1] == ["3", "2", "1", "2"]


# --- instructions ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["redemption_instructions_en", "redemption_instructions_ja"])
def test_the_service_form_refuses_a_claimable_service_without_instructions(
    client: FlaskClient, cast: Cast, missing: str
) -> None:
    login(client, cast.story.one_nucleus_admin)
    before = count(ReciprocalService)
    data = service_terms("Genesis stand discount", lambda c: c.story.one_nucleus.id)(cast)
    data[missing] = "  "

    response = client.post(f"/admin/mous/{MOU}/services/new", data=data, headers=EN)

    assert response.status_code == 400
    html = page_text(response)
    assert "Nothing was changed. Please correct:" in html
    message = (
        "Members can claim this service and are told only its instructions: "
        "write them in English and in Japanese."
    )
    # Beside the field that is empty.
    assert f'<p class="error-message" id="{missing}-error">{message}</p>' in html
    assert count(ReciprocalService) == before


def test_making_a_service_claimable_needs_its_instructions(client: FlaskClient, cast: Cast) -> None:
    spare = cast.spare
    spare.claimable = False
    spare.redemption = "instructions"
    spare.redemption_instructions_en = spare.redemption_instructions_ja = ""
    db.session.commit()
    login(client, cast.story.one_nucleus_admin)
    data = service_terms(spare.title_en, lambda c: c.story.one_nucleus.id)(cast)
    data.update(redemption_instructions_en="", redemption_instructions_ja="")

    response = client.post(f"/admin/services/{spare.id}/edit", data=data, headers=EN)

    assert response.status_code == 400
    assert "write them in English and in Japanese" in page_text(response)
    assert fresh(spare).claimable is False
    assert not audit("service.update")


@pytest.mark.parametrize(("locale", "headers"), [("en", EN), ("ja", JA)])
def test_a_granted_claim_on_a_seeded_service_tells_the_member_how_to_use_it(
    client: FlaskClient, cast: Cast, locale: str, headers: dict[str, str]
) -> None:
    from markupsafe import escape

    from tests.factories import outbox

    story = cast.story
    story.taro.preferred_locale = locale
    db.session.commit()
    # BIOCOM's services for LINK-J members, as `portal seed` wrote them: approval needed.
    seeded = db.session.scalar(
        select(ReciprocalService).where(
            ReciprocalService.provider_id == story.biocom.id,
            ReciprocalService.category == "member_services",
            ReciprocalService.title_en == "Services for members",
        )
    )
    assert seeded is not None
    instructions = getattr(seeded, f"redemption_instructions_{locale}")
    assert "https://www.biocom.org/" in instructions

    login(client, story.taro)
    client.post(f"/benefits/services/{seeded.id}/claim", headers=headers)
    claim = db.session.scalar(
        select(BenefitClaim).where(
            BenefitClaim.person_id == story.taro.id, BenefitClaim.service_id == seeded.id
        )
    )
    assert claim is not None and claim.status == ClaimStatus.REQUESTED
    login(client, story.biocom_admin)
    decided = client.post(f"/admin/claims/{claim.id}/approve", data={"note": ""}, headers=EN)
    assert decided.status_code == 302

    [mail] = outbox("benefits/claim_approved")
    assert mail.to_address == story.taro.email
    assert instructions in mail.body_text
    login(client, story.taro)
    html = page_text(client.get("/benefits/claims", headers=headers))
    assert str(escape(instructions)) in html


def test_the_mou_page_shows_its_services_their_pools_and_the_providers_links(
    client: FlaskClient, cast: Cast
) -> None:
    # The MOU's page is the organizations area's; its services are the section the benefits
    # area registers there.
    from portal.benefits import services

    services.approve_claim(fresh(cast.open_claim), actor=cast.story.one_nucleus_admin)
    login(client, cast.story.one_nucleus_admin)

    html = page_text(client.get(f"/admin/mous/{MOU}", headers=EN))

    assert "MOU between LINK-J and One Nucleus" in html
    assert "What LINK-J members receive from One Nucleus" in html
    assert "Member rate at Genesis" in html and "Desk day in Nihonbashi" in html
    assert "1 of 3 codes given" in html
    member_rate, desk_day = cast.story.member_rate.id, cast.story.desk_day.id
    assert f'href="/admin/services/{member_rate}/edit"' in html
    assert f'href="/admin/services/{member_rate}/codes"' in html
    assert f'action="/admin/services/{member_rate}/delete"' in html
    # What LINK-J provides is for its staff to manage.
    assert f'href="/admin/services/{desk_day}/edit"' not in html
    assert f'href="/admin/mous/{MOU}/services/new?provider={cast.story.one_nucleus.id}"' in html


@pytest.mark.parametrize(
    "path",
    ["/admin/mous", f"/admin/mous/{MOU}", "/admin/claims", "/admin/report", "/admin/"],
)
def test_the_header_marks_administration_on_every_management_page(
    client: FlaskClient, cast: Cast, path: str
) -> None:
    login(client, cast.story.staff)

    html = page_text(client.get(path, headers=EN))

    assert '<a href="/admin/" aria-current="page">Administration</a>' in html
