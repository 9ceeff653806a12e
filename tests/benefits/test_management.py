"""Staff and partner admins setting up the services of an MOU.

Bad input (no title in either language, a limit below 1, an end before the start…) gets a
clear message naming the field, and changes nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.benefits import catalogue
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.organizations.models import ReciprocalService
from tests.factories import add_claim, agreement, audit, fresh, org
from tests.roles import Story

pytestmark = pytest.mark.usefixtures("english")


def services_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ReciprocalService.id))) or 0


def terms(**changes: object) -> catalogue.ServiceTerms:
    values: dict[str, object] = {
        "provider_id": org("one-nucleus").id,
        "category": "member_services",
        "title_en": "Discounted Genesis stand",
        "title_ja": "Genesis出展料割引",
        "requires_approval": True,
        "limit_per_member": 1,
        "limit_period": "year",
        "valid_from": date(2026, 4, 1),
        "valid_until": date(2027, 3, 31),
        "redemption_instructions_en": "Book the stand through Genesis's exhibitor desk.",
        "redemption_instructions_ja": "Genesisの出展窓口でお申し込みください。",
    }
    values.update(changes)
    return catalogue.ServiceTerms(**values)  # type: ignore[arg-type]


NO_INSTRUCTIONS = (
    "Members can claim this service and are told only its instructions: "
    "write them in English and in Japanese."
)

# --- services -------------------------------------------------------------------------------


def test_the_providers_admin_adds_a_service_in_their_direction(story: Story) -> None:
    mou = agreement("link-j-one-nucleus-2017")

    service = catalogue.create_service(mou, terms(), actor=story.one_nucleus_admin)

    service = fresh(service)
    assert (service.provider_id, service.beneficiary_id) == (story.one_nucleus.id, story.hub.id)
    assert service.requires_approval and service.limit_per_member == 1
    [entry] = audit("service.create")
    assert entry.actor_id == story.one_nucleus_admin.id
    assert entry.organization_id == story.one_nucleus.id


def test_a_partner_admin_cannot_add_what_link_j_provides(story: Story) -> None:
    before = services_count()

    with pytest.raises(NotFound):
        catalogue.create_service(
            agreement("link-j-one-nucleus-2017"),
            terms(provider_id=story.hub.id),
            actor=story.one_nucleus_admin,
        )

    assert services_count() == before


def test_staff_add_services_in_either_direction(story: Story) -> None:
    mou = agreement("link-j-one-nucleus-2017")

    service = catalogue.create_service(mou, terms(provider_id=story.hub.id), actor=story.staff)

    assert fresh(service).beneficiary_id == story.one_nucleus.id


def test_the_provider_must_be_a_party_to_the_mou(story: Story) -> None:
    with pytest.raises(InvalidInput) as refused:
        catalogue.create_service(
            agreement("link-j-one-nucleus-2017"),
            terms(provider_id=story.biocom.id),
            actor=story.staff,
        )
    assert refused.value.field == "provider"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"title_en": " ", "title_ja": ""},
            "title_en",
            "Give the service a title in Japanese or English.",
        ),
        (
            {"limit_per_member": 0},
            "limit_per_member",
            "A limit is at least 1 claim per member; leave it empty for once in all.",
        ),
        (
            {"valid_from": date(2026, 4, 1), "valid_until": date(2026, 3, 31)},
            "valid_until",
            "The last day to claim cannot be before the first day.",
        ),
        (
            {"redemption": "shared_code", "shared_code": "  "},
            "shared_code",
            "Enter the code every granted member is shown.",
        ),
        ({"category": "lunch"}, "category", "Choose a category from the list."),
        (
            {"limit_period": "decade"},
            "limit_period",
            "Choose the period the limit counts in from the list.",
        ),
        (
            {"redemption_instructions_en": "  "},
            "redemption_instructions_en",
            NO_INSTRUCTIONS,
        ),
        (
            {"redemption_instructions_ja": ""},
            "redemption_instructions_ja",
            NO_INSTRUCTIONS,
        ),
    ],
)
def test_bad_terms_get_a_message_at_their_field_and_change_nothing(
    story: Story, changes: dict[str, object], field: str, message: str
) -> None:
    before = services_count()

    with pytest.raises(InvalidInput) as refused:
        catalogue.create_service(
            agreement("link-j-one-nucleus-2017"), terms(**changes), actor=story.staff
        )

    assert (refused.value.field, refused.value.message) == (field, message)
    assert services_count() == before
    assert not audit()


@pytest.mark.parametrize(
    "changes",
    [
        {"claimable": False},  # an undertaking between the organizations
        {"redemption": "shared_code", "shared_code": "GENESIS-LINKJ"},  # the code is the benefit
    ],
)
def test_instructions_are_needed_only_for_claimable_services_redeemed_by_them(
    story: Story, changes: dict[str, object]
) -> None:
    service = catalogue.create_service(
        agreement("link-j-one-nucleus-2017"),
        terms(redemption_instructions_en="", redemption_instructions_ja="", **changes),
        actor=story.staff,
    )

    assert fresh(service).redemption_instructions_en == ""


def test_making_a_service_claimable_without_instructions_changes_nothing(story: Story) -> None:
    quiet = dict(redemption_instructions_en="", redemption_instructions_ja="")
    service = catalogue.create_service(
        agreement("link-j-one-nucleus-2017"), terms(claimable=False, **quiet), actor=story.staff
    )

    with pytest.raises(InvalidInput) as refused:
        catalogue.update_service(service, terms(claimable=True, **quiet), actor=story.staff)

    assert refused.value.field == "redemption_instructions_en"
    assert fresh(service).claimable is False
    assert not audit("service.update")


def test_editing_a_service_keeps_claims_and_is_audited(story: Story) -> None:
    claim = add_claim(story.taro, story.member_rate)

    catalogue.update_service(
        story.member_rate,
        terms(title_en="Member rate at Genesis 2027", limit_per_member=2),
        actor=story.one_nucleus_admin,
    )

    service = fresh(story.member_rate)
    assert service.title_en == "Member rate at Genesis 2027" and service.limit_per_member == 2
    assert fresh(claim).service_id == service.id
    [entry] = audit("service.update")
    assert "limit_per_member" in entry.details["changed"]


def test_a_bad_edit_changes_nothing(story: Story) -> None:
    with pytest.raises(InvalidInput):
        catalogue.update_service(story.member_rate, terms(limit_per_member=-1), actor=story.staff)

    assert fresh(story.member_rate).limit_per_member == 1


def test_another_partners_admin_cannot_edit_or_delete(story: Story) -> None:
    with pytest.raises(NotFound):
        catalogue.update_service(story.member_rate, terms(), actor=story.biocom_admin)
    with pytest.raises(NotFound):
        catalogue.delete_service(story.member_rate, actor=story.biocom_admin)

    assert fresh(story.member_rate).title_en == "Member rate at Genesis"


def test_a_service_nobody_claimed_is_deleted_with_its_codes(story: Story) -> None:
    service_id = story.member_rate.id

    catalogue.delete_service(story.member_rate, actor=story.one_nucleus_admin)

    assert db.session.get(ReciprocalService, service_id) is None
    assert audit("service.delete")[0].details["title"] == "Member rate at Genesis"


def test_a_claimed_service_stays_and_says_how_to_withdraw_it(story: Story) -> None:
    add_claim(story.taro, story.member_rate)

    with pytest.raises(InvalidTransition) as refused:
        catalogue.delete_service(story.member_rate, actor=story.staff)

    assert "set a last day to claim or make it not claimable" in refused.value.message
    assert fresh(story.member_rate) is not None


def test_the_database_refuses_a_limit_below_one_and_an_inverted_window(story: Story) -> None:
    story.member_rate.limit_per_member = 0
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    story.member_rate.valid_from = date(2026, 5, 1)
    story.member_rate.valid_until = date(2026, 4, 1)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
