"""Staff adding and editing the network's organizations and MOUs; nobody else may.

Bad input (a URL name with spaces, an unknown country or time zone, an MOU ending before it
was signed…) gets a clear message naming the field, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Person, Role
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.organizations import services as network
from portal.organizations.models import Agreement, Organization
from tests.factories import add_person, add_role, audit, org

pytestmark = pytest.mark.usefixtures("english")


@dataclass
class Cast:
    hub: Organization
    biocom: Organization
    staff: Person
    one_nucleus_admin: Person
    biocom_admin: Person


@pytest.fixture
def story(network: None) -> Cast:
    return Cast(
        hub=org("link-j"),
        biocom=org("biocom"),
        staff=add_role(add_person("secretariat@link-j.example"), Role.STAFF),
        one_nucleus_admin=add_role(
            add_person("officer@onenucleus.example"), Role.PARTNER_ADMIN, org("one-nucleus")
        ),
        biocom_admin=add_role(
            add_person("officer@biocom.example"), Role.PARTNER_ADMIN, org("biocom")
        ),
    )


def agreement(slug: str) -> Agreement:
    found = db.session.scalar(select(Agreement).where(Agreement.slug == slug))
    assert found is not None, slug
    return found


def fresh(record: Any) -> Any:
    """The record as the database has it now."""
    db.session.expire_all()
    return db.session.get(type(record), record.id)


# --- organizations and MOUs -----------------------------------------------------------------

NEW_PARTNER = network.OrganizationDetails(
    slug="medicon-valley",
    short_name="MVA",
    name_en="Medicon Valley Alliance",
    name_ja="メディコンバレー・アライアンス",
    country="dk",
    city_en="Copenhagen",
    timezone="Europe/Copenhagen",
    default_currency="dkk",
    membership_year_end_month=12,
    website="https://mva.org/",
)


def test_staff_add_a_partner(story: Cast) -> None:
    organization = network.create_organization(NEW_PARTNER, actor=story.staff)

    organization = fresh(organization)
    assert organization.kind == "partner"
    assert (organization.country, organization.default_currency) == ("DK", "DKK")
    assert audit("organization.create")[0].subject_id == organization.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "Medicon Valley"}, "slug"),
        ({"slug": "biocom"}, "slug"),
        ({"name_en": "", "name_ja": " "}, "name_en"),
        ({"country": "XX"}, "country"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"default_currency": "ZZZ"}, "default_currency"),
        ({"membership_year_end_month": 13}, "membership_year_end_month"),
        ({"website": "mva.org"}, "website"),
    ],
)
def test_bad_organization_details_change_nothing(
    story: Cast, changes: dict[str, object], field: str
) -> None:
    before = db.session.scalar(select(func.count(Organization.id)))

    with pytest.raises(InvalidInput) as refused:
        network.create_organization(replace(NEW_PARTNER, **changes), actor=story.staff)

    assert refused.value.field == field
    assert db.session.scalar(select(func.count(Organization.id))) == before


def test_only_staff_edit_the_network(story: Cast) -> None:
    with pytest.raises(NotFound):
        network.create_organization(NEW_PARTNER, actor=story.one_nucleus_admin)
    with pytest.raises(NotFound):
        network.create_agreement(
            network.AgreementDetails(partner_id=story.biocom.id, signed_on=date(2026, 1, 1)),
            actor=story.biocom_admin,
        )


def test_editing_an_organization_keeps_its_url_name(story: Cast) -> None:
    network.update_organization(
        story.biocom,
        replace(NEW_PARTNER, slug="renamed", short_name="BIOCOM CA"),
        actor=story.staff,
    )

    biocom = fresh(story.biocom)
    assert (biocom.slug, biocom.short_name) == ("biocom", "BIOCOM CA")


def test_staff_record_an_mou_with_a_readable_address(story: Cast) -> None:
    partner = network.create_organization(NEW_PARTNER, actor=story.staff)

    mou = network.create_agreement(
        network.AgreementDetails(
            partner_id=partner.id,
            signed_on=date(2026, 6, 1),
            valid_until=date(2031, 5, 31),
            document_url="https://drive.example/mou-mva.pdf",
            summary_en="Services to each other's members.",
        ),
        actor=story.staff,
    )

    mou = fresh(mou)
    assert mou.slug == "link-j-medicon-valley-2026"
    assert mou.hub_id == story.hub.id and mou.status == "active"
    assert audit("agreement.create")[0].organization_id == partner.id


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"signed_on": date(2026, 6, 1), "valid_until": date(2026, 5, 31)}, "valid_until"),
        ({"signed_on": date(2016, 5, 1)}, "signed_on"),  # BIOCOM's MOU of that day exists
        ({"signed_on": date(2026, 6, 1), "status": "signed"}, "status"),
        ({"signed_on": date(2026, 6, 1), "document_url": "javascript:alert(1)"}, "document_url"),
    ],
)
def test_bad_mou_details_change_nothing(
    story: Cast, details: dict[str, object], field: str
) -> None:
    before = db.session.scalar(select(func.count(Agreement.id)))

    with pytest.raises(InvalidInput) as refused:
        network.create_agreement(
            network.AgreementDetails(partner_id=story.biocom.id, **details),  # type: ignore[arg-type]
            actor=story.staff,
        )

    assert refused.value.field == field
    assert db.session.scalar(select(func.count(Agreement.id))) == before


def test_an_mou_is_between_link_j_and_a_partner(story: Cast) -> None:
    with pytest.raises(InvalidInput):
        network.create_agreement(
            network.AgreementDetails(partner_id=story.hub.id, signed_on=date(2026, 6, 1)),
            actor=story.staff,
        )


def test_suspending_an_mou_is_audited(story: Cast) -> None:
    mou = agreement("link-j-biocom-2016")

    network.update_agreement(
        mou,
        network.AgreementDetails(
            partner_id=mou.partner_id,
            signed_on=mou.signed_on,
            status="suspended",
            summary_en=mou.summary_en,
            summary_ja=mou.summary_ja,
        ),
        actor=story.staff,
    )

    assert fresh(mou).status == "suspended"
    [entry] = audit("agreement.update")
    assert entry.details["changed"] == ["status"] and entry.details["status"] == "suspended"
