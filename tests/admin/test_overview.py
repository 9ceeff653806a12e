"""The administration's overview and audit log: who may see them, and what each role sees."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.accounts import memberships
from tests.factories import add_membership, add_person
from tests.roles import Action, Cast, build_cast, check_outcome, login, matrix

EN = {"Accept-Language": "en"}


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# --- the role matrix --------------------------------------------------------------------------

ACTIONS = [
    Action("index", "GET", lambda c: "/admin/"),
    Action("audit", "GET", lambda c: "/admin/audit"),
    Action("audit_of_biocom", "GET", lambda c: "/admin/audit?org=biocom"),
]

EVERYONE = {"index", "audit"}
SEE_BIOCOM = {"audit_of_biocom"}
assert {a.name for a in ACTIONS} == EVERYONE | SEE_BIOCOM


def _outcomes(allowed: set[str], not_found: set[str]) -> dict[str, str | int]:
    return {
        a.name: "allowed" if a.name in allowed else 404 if a.name in not_found else 403
        for a in ACTIONS
    }


#: "login": redirected to sign in; "allowed": the page (200).
EXPECTED: dict[str, dict[str, str | int]] = {
    "anonymous": {a.name: "login" for a in ACTIONS},
    "unverified_member": _outcomes(set(), set()),
    "verified_member": _outcomes(set(), set()),
    "biocom_admin": _outcomes(EVERYONE | SEE_BIOCOM, set()),
    "ucsd_admin": _outcomes(EVERYONE, SEE_BIOCOM),
    "staff": _outcomes(EVERYONE | SEE_BIOCOM, set()),
    "admin": _outcomes(EVERYONE | SEE_BIOCOM, set()),
}


@pytest.mark.parametrize(("role", "action"), matrix(ACTIONS, EXPECTED))
def test_role_matrix(
    client: FlaskClient, matrix_world: Callable[..., Cast], role: str, action: Action
) -> None:
    cast = matrix_world(build_cast)
    login(client, cast.by_role(role))

    check_outcome(client, cast, action, EXPECTED[role][action.name])


# --- the overview -----------------------------------------------------------------------------


def test_overview_lists_only_the_partner_admins_organization(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    html = page_text(client.get("/admin/", headers=EN))

    assert "/admin/organizations/biocom/memberships" in html
    assert "/admin/organizations/ucsd/memberships" not in html
    assert "2 pending" in html  # the claimant and the unverified member
    assert "/admin/companies" not in html


def test_staff_overview_lists_every_organization_and_the_secretariat_pages(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.staff)

    html = page_text(client.get("/admin/", headers=EN))

    for slug in ("link-j", "ucsd", "biocom", "eurobiomed", "krp", "one-nucleus", "ibri"):
        assert f"/admin/organizations/{slug}/memberships" in html
    assert "/admin/companies" in html
    assert "/admin/people" not in html  # admins only


# --- audit log --------------------------------------------------------------------------------


@pytest.fixture
def decisions(cast: Cast) -> None:
    """One decision at BIOCOM and one at UCSD, each with a recognisable note."""
    memberships.verify_membership(cast.pending, actor=cast.biocom_admin, note="biocom-note")
    ucsd_claim = add_membership(
        add_person("postdoc@ucsd.edu", family_name="Lee", given_name="Ann"), cast.ucsd
    )
    memberships.verify_membership(ucsd_claim, actor=cast.ucsd_admin, note="ucsd-note")


@pytest.mark.usefixtures("decisions")
def test_partner_admin_sees_only_their_organizations_audit_entries(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    html = page_text(client.get("/admin/audit", headers=EN))
    own = page_text(client.get("/admin/audit?org=biocom", headers=EN))
    other = client.get("/admin/audit?org=ucsd", headers=EN)

    assert "biocom-note" in html and "ucsd-note" not in html
    assert "biocom-note" in own
    assert other.status_code == 404
    assert "ucsd-note" not in page_text(other)


@pytest.mark.usefixtures("decisions")
def test_staff_see_every_audit_entry_or_one_organizations(client: FlaskClient, cast: Cast) -> None:
    login(client, cast.staff)

    everything = page_text(client.get("/admin/audit", headers=EN))
    ucsd_only = page_text(client.get("/admin/audit?org=ucsd", headers=EN))

    assert "biocom-note" in everything and "ucsd-note" in everything
    assert "ucsd-note" in ucsd_only and "biocom-note" not in ucsd_only
    assert client.get("/admin/audit?org=no-such-org", headers=EN).status_code == 404


# --- the navigation ---------------------------------------------------------------------------


def test_the_site_navigation_marks_administration_on_every_management_page(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)
    current = '<a href="/admin/" aria-current="page">'

    for url in ("/admin/", "/admin/audit", "/admin/organizations/biocom/memberships"):
        assert current in page_text(client.get(url, headers=EN)), url
    assert current not in page_text(client.get("/account", headers=EN))
