"""The audit log reads as sentences in the viewer's language, linking what they name."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from portal.accounts import memberships
from portal.accounts.models import Role
from portal.audit.services import record
from portal.extensions import db
from tests.factories import add_membership, add_person, add_role, org
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")


@pytest.fixture
def verified() -> tuple:
    staff = add_role(
        add_person("staff@link-j.org", family_name="佐藤", given_name="花子"), Role.STAFF
    )
    staff.romanized_name = "Hanako Sato"
    member = add_person("taro@example.jp", family_name="山田", given_name="太郎")
    member.romanized_name = "Taro Yamada"
    db.session.commit()
    membership = add_membership(member, "link-j")
    memberships.verify_membership(membership, actor=staff, valid_until=date(2027, 3, 31))
    return staff, membership


def _log(client: FlaskClient, language: str) -> str:
    return client.get("/admin/audit", headers={"Accept-Language": language}).get_data(as_text=True)


def test_a_verification_reads_as_a_sentence_in_english_with_a_link(
    client: FlaskClient, verified: tuple
) -> None:
    staff, membership = verified
    login(client, staff)

    html = _log(client, "en")

    link = f'<a href="/admin/memberships/{membership.id}">Taro Yamada</a>'
    assert f"Hanako Sato verified {link}&#39;s LINK-J membership until 31 March 2027" in html
    assert "automatic=" not in html and "membership " + str(membership.id) not in html


def test_the_same_sentence_in_japanese(client: FlaskClient, verified: tuple) -> None:
    staff, membership = verified
    login(client, staff)

    html = _log(client, "ja")

    link = f'<a href="/admin/memberships/{membership.id}">山田 太郎</a>'
    assert f"佐藤 花子さんが{link}さんのLINK-J会員資格を2027年3月31日まで確認しました" in html


def test_an_action_no_area_describes_falls_back_to_its_label(
    client: FlaskClient, verified: tuple
) -> None:
    staff, _membership = verified
    record(
        "roster.import",
        actor=staff,
        subject_type="roster_upload",
        subject_id=1,
        organization_id=org("link-j").id,
        rows=3,
    )
    db.session.commit()
    login(client, staff)

    html = _log(client, "en")

    assert "Hanako Sato: Roster uploaded" in html
    assert "rows=3" not in html


def test_a_partner_admin_reads_only_their_organizations_sentences(
    client: FlaskClient, verified: tuple
) -> None:
    biocom_admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    login(client, biocom_admin)

    html = _log(client, "en")

    assert "Taro Yamada" not in html and "Nothing recorded yet." in html


def test_publishing_an_event_reads_as_a_sentence_linking_the_event(
    client: FlaskClient, verified: tuple
) -> None:
    from portal.events import setup
    from tests.factories import add_event

    staff, _membership = verified
    event = add_event(status="draft")
    setup.publish_event(event, actor=staff)
    login(client, staff)

    html = _log(client, "en")

    link = f'<a href="/events/{event.slug}">Regenerative Medicine Industrialisation Forum</a>'
    assert f"Hanako Sato published {link}" in html
