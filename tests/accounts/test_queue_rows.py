"""The verification queue: verify and reject on each row, and the flags that help decide."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask.testing import FlaskClient

from portal.accounts.models import Membership, RosterEntry, RosterUpload
from portal.extensions import db
from tests.factories import add_membership, add_person, audit, org
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

EN = {"Accept-Language": "en"}
QUEUE = "/admin/organizations/biocom/memberships"


def _fresh(membership: Membership) -> Membership:
    db.session.expire_all()
    return db.session.get(Membership, membership.id)


def test_a_pending_row_is_verified_from_the_queue_and_the_admin_stays_on_it(
    client: FlaskClient, partner_admin
) -> None:
    admin = partner_admin("biocom")
    claim = add_membership(add_person("jordan@torreypines.example"), "biocom", member_number="B-1")
    login(client, admin)

    html = client.get(QUEUE, headers=EN).get_data(as_text=True)
    assert f'form="verify-{claim.id}"' in html and f'form="reject-{claim.id}"' in html

    response = client.post(
        f"/admin/memberships/{claim.id}/verify",
        data={"valid_until": "2027-12-31", "back": "queue"},
        headers=EN,
    )

    assert response.status_code == 302 and response.headers["Location"].endswith(QUEUE)
    assert _fresh(claim).status == "verified" and _fresh(claim).valid_until == date(2027, 12, 31)
    assert [e.action for e in audit("membership.verify")] == ["membership.verify"]


def test_a_row_is_rejected_with_its_reason_and_without_one_nothing_changes(
    client: FlaskClient, partner_admin
) -> None:
    login(client, partner_admin("biocom"))
    claim = add_membership(add_person(), "biocom")

    refused = client.post(
        f"/admin/memberships/{claim.id}/reject", data={"reason": " ", "back": "queue"}, headers=EN
    )
    assert refused.status_code == 400 and _fresh(claim).status == "pending"

    done = client.post(
        f"/admin/memberships/{claim.id}/reject",
        data={"reason": "Not in our records", "back": "queue"},
        headers=EN,
    )
    assert done.headers["Location"].endswith(QUEUE)
    assert _fresh(claim).status == "rejected"


def test_the_queue_flags_an_unconfirmed_address_a_shared_number_and_a_roster_match(
    client: FlaskClient, partner_admin
) -> None:
    login(client, partner_admin("biocom"))
    unconfirmed = add_membership(add_person("new@example.org", confirmed=False), "biocom")
    first = add_membership(add_person("one@example.org"), "biocom", member_number="B-77")
    second = add_membership(add_person("two@example.org"), "biocom", member_number="B-77")
    listed = add_membership(add_person("listed@example.org"), "biocom", member_number="B-9")
    upload = RosterUpload(organization_id=org("biocom").id, filename="roster.csv")
    db.session.add(upload)
    db.session.flush()
    db.session.add(RosterEntry(upload_id=upload.id, member_number="B-9"))
    db.session.commit()

    html = client.get(QUEUE, headers=EN).get_data(as_text=True)

    def row(membership: Membership) -> str:
        start = html.index(f'/admin/memberships/{membership.id}"')
        return html[start : html.index("</tr>", start)]

    assert "Email not confirmed" in row(unconfirmed)
    assert "Member number claimed by several people" in row(first)
    assert "Member number claimed by several people" in row(second)
    assert "On the latest roster" in row(listed)
    assert "On the latest roster" not in row(first)
    assert "Email not confirmed" not in row(listed)


def test_another_organizations_admin_cannot_decide_a_row(
    client: FlaskClient, partner_admin
) -> None:
    login(client, partner_admin("ucsd"))
    claim = add_membership(add_person(), "biocom")

    response = client.post(
        f"/admin/memberships/{claim.id}/verify",
        data={"valid_until": "2027-12-31", "back": "queue"},
        headers=EN,
    )

    assert response.status_code == 404 and _fresh(claim).status == "pending"


def test_names_and_emails_never_break_letter_by_letter() -> None:
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "portal.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    # Only the column headings of a table on a phone (hidden ones of tables that stack, and
    # those over a report's figures) may break inside a word: never a name or an address.
    breaking = [
        selector.strip()
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if "overflow-wrap: anywhere" in body
    ]
    assert breaking == [".admin-table thead th"]
    assert "word-break: break-all" not in css
