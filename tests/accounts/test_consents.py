"""Consent before a member's data goes to a partner abroad (APPI art. 28).

A LINK-J member claiming a BIOCOM (US) service, or registering for an event a partner abroad
hosts or co-hosts, first reads a statement naming the country, what is shared and why, and
agrees; then the claim or registration continues. Partners in Japan (KRP, IBRI) and a
member's own organization need no consent. Consents are withdrawn from the account page.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from portal.accounts import consents
from portal.accounts.consents import ConsentRequired
from portal.accounts.models import CrossBorderConsent, Person
from portal.benefits import services as benefits
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.errors import InvalidInput, NotFound
from portal.events import registering
from portal.events.models import Registration
from portal.extensions import db
from portal.organizations.models import ReciprocalService
from tests.factories import (
    add_claim,
    add_consent,
    add_event,
    add_person,
    add_service,
    audit,
    count,
    member_of,
    org,
    ticket,
)
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


class _Form(HTMLParser):
    """The consent step's form as a browser would post it: its action and its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        action = values.get("action") or ""
        if tag == "form" and action.startswith(("/benefits/", "/events/")):
            self.action, self._inside = action, True
        elif tag == "input" and self._inside and values.get("name"):
            self.fields.append((values["name"] or "", values.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def agree(client: FlaskClient, step: TestResponse, headers: dict[str, str] = EN) -> TestResponse:
    """Press "I agree and continue" on the consent step."""
    form = _Form()
    form.feed(step.get_data(as_text=True))
    assert form.action, "no consent form on the page"
    data: dict[str, list[str]] = {}
    for name, value in form.fields:
        data.setdefault(name, []).append(value)
    return client.post(form.action, data=data, headers=headers)


def biocom_introductions() -> ReciprocalService:
    return add_service("link-j-biocom-2016", "biocom", title_en="Introductions to BIOCOM members")


def claims_of(person: Person) -> list[BenefitClaim]:
    db.session.expire_all()
    return list(db.session.scalars(select(BenefitClaim).where(BenefitClaim.person_id == person.id)))


def live_consents(person: Person) -> list[str]:
    db.session.expire_all()
    return [
        c.organization.slug
        for c in db.session.scalars(
            select(CrossBorderConsent).where(
                CrossBorderConsent.person_id == person.id,
                CrossBorderConsent.withdrawn_at.is_(None),
            )
        )
    ]


# --- claims -----------------------------------------------------------------------------------


def test_a_linkj_member_claims_a_biocom_service_only_after_agreeing_to_the_statement(
    client: FlaskClient,
) -> None:
    service = biocom_introductions()
    taro = member_of("link-j", "taro@nihonbashi-pharma.example")
    login(client, taro)

    step = client.post(f"/benefits/services/{service.id}/claim", headers=EN)

    page = step.get_data(as_text=True)
    assert step.status_code == 200
    assert "Sharing your data with BIOCOM (United States)" in page
    assert "California Consumer Privacy Act" in page  # the country's protection system
    assert "decide on and provide the services you claim" in page  # why
    assert "I agree and continue" in page
    assert claims_of(taro) == [] and live_consents(taro) == []  # nothing went to BIOCOM

    claimed = agree(client, step)

    assert claimed.status_code == 302 and "/benefits/claims" in claimed.headers["Location"]
    assert [c.status for c in claims_of(taro)] == [ClaimStatus.APPROVED]
    assert live_consents(taro) == ["biocom"]
    [given] = audit("consent.give")
    assert (given.actor_id, given.organization_id) == (taro.id, org("biocom").id)
    assert given.details["statement_version"] == consents.STATEMENT_VERSION


def test_the_claim_service_refuses_without_consent_and_writes_nothing() -> None:
    service = biocom_introductions()
    taro = member_of("link-j")

    with pytest.raises(ConsentRequired) as refused:
        benefits.claim_benefit(taro, service)

    assert [o.slug for o in refused.value.organizations] == ["biocom"]
    assert count(BenefitClaim) == 0 and audit() == []


def test_a_claim_on_kyoto_research_parks_service_needs_no_consent() -> None:
    service = add_service("link-j-krp-2017", "krp", title_en="KRP desk")
    taro = member_of("link-j")

    claim = benefits.claim_benefit(taro, service)

    assert claim.status == ClaimStatus.APPROVED
    assert count(CrossBorderConsent) == 0


def test_a_biocom_members_claim_on_linkjs_service_needs_no_consent() -> None:
    service = add_service("link-j-biocom-2016", "link-j", title_en="Desk day in Nihonbashi")
    ken = member_of("biocom")

    assert benefits.claim_benefit(ken, service).status == ClaimStatus.APPROVED


def test_consent_is_given_once_per_partner() -> None:
    service = biocom_introductions()
    taro = member_of("link-j")
    add_consent(taro, "ucsd")  # UCSD is another partner: it does not count for BIOCOM

    with pytest.raises(ConsentRequired):
        benefits.claim_benefit(taro, service)
    consents.give_consent(taro, [org("biocom")], version=consents.STATEMENT_VERSION)
    consents.give_consent(taro, [org("biocom")], version=consents.STATEMENT_VERSION)

    assert benefits.claim_benefit(taro, service).status == ClaimStatus.APPROVED
    assert sorted(live_consents(taro)) == ["biocom", "ucsd"]
    assert len(audit("consent.give")) == 1


def test_the_database_keeps_one_live_consent_per_person_and_partner() -> None:
    taro = member_of("link-j")
    add_consent(taro, "biocom")

    with pytest.raises(IntegrityError):
        add_consent(taro, "biocom")
    db.session.rollback()


def test_agreeing_to_an_outdated_statement_is_refused_and_records_nothing() -> None:
    taro = member_of("link-j")

    with pytest.raises(InvalidInput, match="statement has changed"):
        consents.give_consent(taro, [org("biocom")], version=consents.STATEMENT_VERSION - 1)

    assert count(CrossBorderConsent) == 0 and audit() == []


def test_a_consent_to_an_older_statement_no_longer_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taro = member_of("link-j")
    add_consent(taro, "biocom")
    monkeypatch.setattr(consents, "STATEMENT_VERSION", consents.STATEMENT_VERSION + 1)

    assert consents.missing_consents(taro, [org("biocom")]) == [org("biocom")]
    consents.give_consent(taro, [org("biocom")], version=consents.STATEMENT_VERSION)

    versions = db.session.execute(
        select(CrossBorderConsent.statement_version, CrossBorderConsent.withdrawn_at.is_(None))
        .where(CrossBorderConsent.person_id == taro.id)
        .order_by(CrossBorderConsent.id)
    ).all()
    assert [tuple(v) for v in versions] == [
        (consents.STATEMENT_VERSION - 1, False),
        (consents.STATEMENT_VERSION, True),
    ]


@pytest.mark.parametrize(
    ("partner", "country", "system"),
    [
        ("biocom", "United States", "California Consumer Privacy Act"),
        ("ucsd", "United States", "Federal Trade Commission"),
        ("eurobiomed", "France", "General Data Protection Regulation (GDPR)"),
        ("one-nucleus", "United Kingdom", "UK GDPR and the Data Protection Act 2018"),
    ],
)
def test_each_statement_names_the_country_and_its_protection_system(
    english: None, partner: str, country: str, system: str
) -> None:
    statement = consents.statement(org(partner))

    assert country in statement.title and statement.country == country
    assert system in statement.protection_system
    assert org(partner).short_name in statement.recipient_measures


def test_the_statement_reads_in_japanese(client: FlaskClient) -> None:
    service = biocom_introductions()
    login(client, member_of("link-j"))

    step = client.post(f"/benefits/services/{service.id}/claim", headers=JA)

    page = step.get_data(as_text=True)
    assert "BIOCOM（アメリカ合衆国）への個人データの提供" in page
    assert "個人情報の保護に関する法律（第28条）" in page
    assert "カリフォルニア州消費者プライバシー法" in page
    assert "同意して続ける" in page
    claimed = agree(client, step, JA)
    assert claimed.status_code == 302
    assert count(BenefitClaim) == 1


# --- withdrawing ------------------------------------------------------------------------------


def test_withdrawing_consent_on_the_account_page_withdraws_the_pending_claim(
    client: FlaskClient,
) -> None:
    waiting_service = add_service(
        "link-j-biocom-2016", "biocom", title_en="Lab tour", requires_approval=True
    )
    ucsd_service = add_service(
        "link-j-ucsd-2016", "ucsd", title_en="Digest", requires_approval=True
    )
    taro = member_of("link-j")
    add_consent(taro, "biocom", "ucsd")
    waiting = benefits.claim_benefit(taro, waiting_service)
    elsewhere = benefits.claim_benefit(taro, ucsd_service)
    granted = add_claim(taro, biocom_introductions(), status=ClaimStatus.APPROVED)
    login(client, taro)
    page = client.get("/account/consents", headers=EN).get_data(as_text=True)
    assert "BIOCOM" in page and "Withdraw my consent to BIOCOM" in page
    consent = db.session.scalar(
        select(CrossBorderConsent).where(
            CrossBorderConsent.person_id == taro.id,
            CrossBorderConsent.organization_id == org("biocom").id,
        )
    )
    assert consent is not None

    withdrawn = client.post(
        f"/account/consents/{consent.id}/withdraw", headers=EN, follow_redirects=True
    )

    assert "Your consent is withdrawn" in withdrawn.get_data(as_text=True)
    statuses = {c.id: c.status for c in claims_of(taro)}
    assert statuses == {
        waiting.id: ClaimStatus.CANCELLED,  # BIOCOM no longer sees it
        elsewhere.id: ClaimStatus.REQUESTED,  # UCSD's consent still stands
        granted.id: ClaimStatus.APPROVED,  # decided before: stays
    }
    assert live_consents(taro) == ["ucsd"]
    [entry] = audit("consent.withdraw")
    assert (entry.actor_id, entry.organization_id) == (taro.id, org("biocom").id)
    [cancelled] = audit("benefit_claim.cancel")
    assert cancelled.subject_id == waiting.id and cancelled.details["consent_withdrawn"]
    # Claiming from BIOCOM again asks again.
    again = client.post(f"/benefits/services/{waiting_service.id}/claim", headers=EN)
    assert "I agree and continue" in again.get_data(as_text=True)


def test_someone_elses_consent_cannot_be_withdrawn(client: FlaskClient) -> None:
    taro, other = member_of("link-j"), member_of("link-j")
    [consent] = add_consent(taro, "biocom")
    login(client, other)

    assert client.post(f"/account/consents/{consent.id}/withdraw").status_code == 404
    with pytest.raises(NotFound):
        consents.withdraw_consent(consent, person=other)
    assert live_consents(taro) == ["biocom"]


def test_the_account_page_links_to_the_consents(client: FlaskClient) -> None:
    login(client, member_of("link-j"))

    dashboard = client.get("/account", headers=EN).get_data(as_text=True)
    empty = client.get("/account/consents", headers=EN).get_data(as_text=True)

    assert 'href="/account/consents"' in dashboard
    assert "You have not agreed to share your data with a partner abroad." in empty


# --- registrations ----------------------------------------------------------------------------


def test_registering_for_an_event_cohosted_by_ucsd_asks_first_then_registers_with_the_answers(
    client: FlaskClient,
) -> None:
    event = add_event(
        host="link-j",
        cohosts=("ucsd",),
        questions=({"kind": "text", "label_en": "Your research area", "required": True},),
    )
    question = event.questions[0]
    taro = member_of("link-j")
    login(client, taro)
    form = {"ticket_type": str(ticket(event, "linkj_member").id), f"q_{question.id}": "iPS cells"}

    step = client.post(f"/events/{event.slug}/register", data=form, headers=EN)

    page = step.get_data(as_text=True)
    assert "Sharing your data with UCSD (United States)" in page
    assert db.session.scalars(select(Registration)).all() == []

    registered = agree(client, step)

    assert registered.status_code == 302 and "/events/tickets/" in registered.headers["Location"]
    [registration] = db.session.scalars(select(Registration)).all()
    assert registration.person_id == taro.id and registration.status == "confirmed"
    assert registration.answers == {str(question.id): "iPS cells"}
    assert live_consents(taro) == ["ucsd"]


def test_registering_for_an_event_hosted_by_eurobiomed_needs_consent() -> None:
    event = add_event(host="eurobiomed", tickets=({"audience": "non_member", "price": 0},))
    person = add_person()

    with pytest.raises(ConsentRequired) as refused:
        registering.register(person, event, ticket_type_id=ticket(event, "non_member").id)

    assert [o.slug for o in refused.value.organizations] == ["eurobiomed"]
    assert count(Registration) == 0


def test_registering_for_events_in_japan_needs_no_consent() -> None:
    kobe = add_event(host="ibri", cohosts=("link-j",))
    kyoto = add_event(host="krp")
    taro = member_of("link-j")

    for event in (kobe, kyoto):
        registration = registering.register(
            taro, event, ticket_type_id=ticket(event, "linkj_member").id
        )
        assert registration.status == "confirmed"
    assert count(CrossBorderConsent) == 0


def test_a_biocom_members_registration_at_biocoms_own_event_needs_no_consent() -> None:
    event = add_event(host="biocom", cohosts=("link-j",))
    ken = member_of("biocom")

    registration = registering.register(
        ken, event, ticket_type_id=ticket(event, "partner_member").id
    )

    assert registration.status == "confirmed"


def test_a_biocom_member_at_an_event_cohosted_by_one_nucleus_agrees_for_one_nucleus_only() -> None:
    event = add_event(host="biocom", cohosts=("one-nucleus",))
    ken = member_of("biocom")

    with pytest.raises(ConsentRequired) as refused:
        registering.register(ken, event, ticket_type_id=ticket(event, "partner_member").id)

    assert [o.slug for o in refused.value.organizations] == ["one-nucleus"]
