"""The network's rules and the seed document's facts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.organizations import network
from portal.organizations.models import (
    Agreement,
    AgreementStatus,
    Organization,
    ReciprocalService,
    ServiceCategory,
)
from portal.organizations.queries import services_by_direction
from portal.organizations.services import seed_network


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_seed_loads_linkj_its_six_partners_and_kobe_city() -> None:
    report = seed_network()

    slugs = set(db.session.scalars(select(Organization.slug)))
    partners = {"ucsd", "biocom", "eurobiomed", "krp", "one-nucleus", "ibri"}
    assert slugs == {"link-j", *partners, "kobe-city"}
    assert report.organizations == 8
    # Kobe City hosts events without an MOU (the seed's 2017 forum).
    kobe = db.session.scalar(select(Organization).where(Organization.slug == "kobe-city"))
    assert kobe is not None and kobe.kind == "host"
    assert report.agreements == 6
    hub = db.session.scalar(select(Organization).where(Organization.kind == "hub"))
    assert hub is not None and hub.slug == "link-j"


def test_seed_gives_each_mou_its_signing_month() -> None:
    seed_network()

    signed = {a.partner.slug: a.signed_on for a in db.session.scalars(select(Agreement))}
    assert signed == {
        "ucsd": date(2016, 5, 1),
        "biocom": date(2016, 5, 1),
        "eurobiomed": date(2017, 6, 1),
        "krp": date(2017, 7, 1),
        "one-nucleus": date(2017, 12, 1),
        "ibri": date(2018, 1, 1),
    }


def test_seed_is_idempotent() -> None:
    seed_network()
    counts = (_count(Organization), _count(Agreement), _count(ReciprocalService))

    second = seed_network()

    assert not second.created_anything
    assert (_count(Organization), _count(Agreement), _count(ReciprocalService)) == counts


def test_seed_keeps_what_staff_edited() -> None:
    seed_network()
    biocom = db.session.scalar(select(Organization).where(Organization.slug == "biocom"))
    assert biocom is not None
    biocom.description_en = "Edited by the secretariat"
    db.session.commit()

    seed_network()

    db.session.refresh(biocom)
    assert biocom.description_en == "Edited by the secretariat"


def test_seed_completes_a_partly_loaded_network() -> None:
    seed_network()
    db.session.execute(
        ReciprocalService.__table__.delete().where(
            ReciprocalService.category == ServiceCategory.MUTUAL_VISITS.value
        )
    )
    db.session.commit()

    report = seed_network()

    assert report.services == 2
    assert report.organizations == 0 and report.agreements == 0


@pytest.mark.parametrize("partner", ["biocom", "eurobiomed", "one-nucleus"])
def test_association_mous_run_member_services_both_ways(partner: str) -> None:
    seed_network()
    agreement = db.session.scalar(
        select(Agreement).join(Agreement.partner).where(Organization.slug == partner)
    )
    assert agreement is not None

    directions = services_by_direction(agreement)

    (to_linkj_provider, to_linkj_beneficiary, to_linkj), (_, _, to_partner) = directions
    assert to_linkj_provider.slug == partner and to_linkj_beneficiary.slug == "link-j"
    expected = {"member_services", "publications", "programs_events"}
    assert {s.category for s in to_linkj} == expected
    assert {s.category for s in to_partner} == expected


def test_ucsd_symposia_run_one_way_to_linkj_members() -> None:
    seed_network()
    symposia = db.session.scalars(
        select(ReciprocalService).where(ReciprocalService.category == ServiceCategory.SYMPOSIA)
    ).all()

    assert [(s.provider.slug, s.beneficiary.slug) for s in symposia] == [("ucsd", "link-j")]


def test_every_seeded_service_has_both_languages() -> None:
    seed_network()

    for service in db.session.scalars(select(ReciprocalService)):
        assert service.title_en and service.title_ja
        assert service.description_en and service.description_ja
        assert service.provider.short_name in service.description_en


def test_kyoto_research_park_mou_lists_its_three_clauses() -> None:
    seed_network()
    categories = set(
        db.session.scalars(
            select(ReciprocalService.category)
            .join(ReciprocalService.agreement)
            .where(Agreement.slug == "link-j-krp-2017")
        )
    )
    assert categories == {"cohosting", "publications", "mutual_visits"}


def test_agreement_in_force_only_while_active_and_within_validity() -> None:
    agreement = Agreement(
        signed_on=date(2017, 6, 1),
        status=AgreementStatus.ACTIVE.value,
        valid_until=date(2020, 5, 31),
    )

    assert agreement.is_in_force(date(2019, 1, 1))
    assert not agreement.is_in_force(date(2020, 6, 1))
    assert not agreement.is_in_force(date(2017, 5, 31))
    agreement.status = AgreementStatus.SUSPENDED.value
    assert not agreement.is_in_force(date(2019, 1, 1))


def _organization(slug: str, kind: str = "partner") -> Organization:
    return Organization(
        slug=slug,
        kind=kind,
        short_name=slug,
        name_en=slug,
        name_ja=slug,
        country="JP",
        city_en="Tokyo",
        city_ja="東京",
    )


def test_the_network_has_a_single_hub() -> None:
    db.session.add_all([_organization("hub-a", "hub"), _organization("hub-b", "hub")])
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_an_mou_needs_two_distinct_parties() -> None:
    hub = _organization("hub", "hub")
    db.session.add(hub)
    db.session.flush()
    db.session.add(Agreement(slug="self", hub=hub, partner=hub, signed_on=date(2020, 1, 1)))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_an_mou_cannot_end_before_it_was_signed() -> None:
    db.session.add(
        Agreement(
            slug="backwards",
            hub=_organization("hub", "hub"),
            partner=_organization("p"),
            signed_on=date(2020, 1, 1),
            valid_until=date(2019, 1, 1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_a_service_needs_a_title_in_one_language() -> None:
    hub, partner = _organization("hub", "hub"), _organization("p")
    agreement = Agreement(slug="a", hub=hub, partner=partner, signed_on=date(2020, 1, 1))
    agreement.services.append(
        ReciprocalService(provider=hub, beneficiary=partner, category="publications")
    )
    db.session.add(agreement)
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_seed_data_names_every_partner_of_the_document() -> None:
    partners = {a.partner for a in network.AGREEMENTS}
    assert partners == {o.slug for o in network.ORGANIZATIONS if o.kind == "partner"}


def _claimable() -> list[ReciprocalService]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReciprocalService)
            .where(ReciprocalService.claimable.is_(True))
            .order_by(ReciprocalService.id)
        )
    )


def test_seed_tells_granted_members_how_to_use_each_claimable_service() -> None:
    seed_network()

    claimable = _claimable()
    assert len(claimable) == 20
    for service in claimable:
        provider, beneficiary = service.provider, service.beneficiary
        where = (provider.slug, service.category)
        assert service.redemption_instructions_en.strip(), where
        assert service.redemption_instructions_ja.strip(), where
        # Whose member to say you are, and where to write.
        assert beneficiary.short_name in service.redemption_instructions_en, where
        assert beneficiary.short_name in service.redemption_instructions_ja, where
        assert provider.website in service.redemption_instructions_en, where
        assert "{" not in service.redemption_instructions_en + service.redemption_instructions_ja
    visits = {
        s.provider.slug: s.redemption_instructions_en
        for s in claimable
        if s.category == ServiceCategory.MUTUAL_VISITS
    }
    assert "Nihonbashi Life Science Building" in visits["link-j"]
    assert "Kyoto Research Park" in visits["krp"]


def test_seed_writes_missing_instructions_and_keeps_what_staff_wrote() -> None:
    seed_network()
    # As a database seeded before the seed had instructions, and one the staff edited.
    first, second, *_ = _claimable()
    first.redemption_instructions_en = first.redemption_instructions_ja = ""
    second.redemption_instructions_en = "Ask Hanako at the front desk."
    second.redemption_instructions_ja = ""
    db.session.commit()

    report = seed_network()

    assert report.instructions == 2 and report.created_anything
    first, second, *_ = _claimable()
    assert first.redemption_instructions_en and first.redemption_instructions_ja
    assert second.redemption_instructions_en == "Ask Hanako at the front desk."
    assert second.redemption_instructions_ja
    assert not seed_network().created_anything
