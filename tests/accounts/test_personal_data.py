"""A person's data as a whole: the export holds every area's part and says what deletion keeps;
deleting an account ends its registrations (seats go to the waitlist), withdraws its claims
and keeps the invoices and payments the law requires, with the least personal data."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from portal.accounts import personal_data
from portal.accounts import services as accounts
from portal.accounts.models import CrossBorderConsent, Person, Role
from portal.benefits import services as benefits
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.db import utcnow
from portal.events import holds, registering
from portal.events.models import Event, Registration, RegistrationStatus
from portal.extensions import db
from portal.payments import invoices as payments
from portal.payments.models import Invoice, Payment, PaymentStatus
from portal.payments.personal_data import kept_until
from portal.timefmt import long_day
from tests.factories import (
    PASSWORD,
    add_consent,
    add_event,
    add_person,
    add_role,
    add_service,
    audit,
    member_of,
    outbox,
    ticket,
)
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

EN = {"Accept-Language": "en"}
ANSWER = "Vegetarian; I come from the Kato lab at Keio"


@pytest.fixture(autouse=True)
def issuer(app: Flask) -> Iterator[None]:
    keys = ("INVOICE_REGISTRATION_NUMBER", "INVOICE_BANK_ACCOUNT")
    saved = {key: app.config[key] for key in keys}
    app.config.update(
        INVOICE_REGISTRATION_NUMBER="T1010401089234",
        INVOICE_BANK_ACCOUNT="三井住友銀行 日本橋支店 普通 1234567",
    )
    yield
    app.config.update(saved)


def paid_forum(capacity: int = 1) -> Event:
    """A LINK-J forum with one paid seat and a free-text question."""
    return add_event(
        capacity=capacity,
        tickets=(
            {"audience": "linkj_member", "price": 11000, "tax_rate": 10, "name_en": "Member"},
        ),
        questions=({"kind": "text", "label_en": "Dietary needs or affiliation"},),
    )


def answered(event: Event) -> dict[str, str]:
    return {str(event.questions[0].id): ANSWER}


def paid_by_invoice(person: Person, event: Event) -> Registration:
    """Registered, invoiced to their company, and the bank transfer recorded by staff."""
    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "linkj_member").id, answers=answered(event)
    )
    invoice = payments.request_invoice(
        registration, person=person, company="Nihonbashi Pharma K.K.", recipient_name="山田 太郎"
    )
    staff = db.session.scalar(select(Person).where(Person.email == "secretariat@link-j.org"))
    staff = staff or add_role(add_person("secretariat@link-j.org"), Role.STAFF)
    payments.record_bank_transfer(
        invoice, actor=staff, paid_on=utcnow().date(), amount=invoice.total, payer_kana="ﾆﾎﾝﾊﾞｼ"
    )
    return fresh(registration)


def fresh(record: object) -> object:
    db.session.expire_all()
    return db.session.get(type(record), record.id)  # type: ignore[attr-defined]


def tokyo_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()


# --- deletion -------------------------------------------------------------------------------


def test_deleting_an_account_through_the_page_gives_its_seat_to_the_waitlist_and_keeps_the_books(
    client: FlaskClient,
) -> None:
    event = paid_forum(capacity=1)
    leaving = member_of("link-j", "leaving@nihonbashi-pharma.example")
    seat = paid_by_invoice(leaving, event)
    assert seat.status == RegistrationStatus.CONFIRMED
    waiting = member_of("link-j", "waiting@kobe-bio.example")
    queued = registering.register(
        waiting, event, ticket_type_id=ticket(event, "linkj_member").id, answers=answered(event)
    )
    assert queued.status == RegistrationStatus.WAITLISTED
    login(client, leaving)
    warning = client.get("/account/delete", headers=EN).get_data(as_text=True)
    assert "seven years" in warning  # the page says what stays, and why, before it is too late
    with force_locale("en"):
        assert f"Kept until {long_day(kept_until(tokyo_today()))}." in warning

    refused = client.post(
        "/account/delete",
        data={"current_password": "not-my-password-1", "understood": "y"},
        headers=EN,
    )
    assert "current password is not correct" in refused.get_data(as_text=True)
    assert (fresh(seat).status, fresh(seat).answers) == ("confirmed", answered(event))
    assert fresh(queued).status == RegistrationStatus.WAITLISTED

    deleted = client.post(
        "/account/delete", data={"current_password": PASSWORD, "understood": "y"}, headers=EN
    )

    assert deleted.status_code == 302
    seat, queued = fresh(seat), fresh(queued)
    assert (seat.status, seat.answers) == (RegistrationStatus.CANCELLED, {})
    # The waitlisted person gets the seat (held for payment), and is told.
    assert queued.status == RegistrationStatus.AWAITING_PAYMENT
    [promoted] = outbox("events/registration_promoted")
    assert promoted.to_address == "waiting@kobe-bio.example"
    # The payment and the invoice stay for the books, without a link to the account.
    [payment] = db.session.scalars(select(Payment)).all()
    assert (payment.status, payment.amount, payment.person_id) == (PaymentStatus.PAID, 11000, None)
    [invoice] = db.session.scalars(select(Invoice)).all()
    assert (invoice.total, invoice.recipient_company) == (11000, "Nihonbashi Pharma K.K.")
    person = fresh(leaving)
    assert person.deleted_at is not None and person.email.endswith("@invalid")
    assert not [m for m in outbox() if m.to_address == "leaving@nihonbashi-pharma.example"]
    [entry] = audit("person.delete")
    assert entry.details["registrations_cancelled"] == 1
    assert entry.details["registration_answers_erased"] == 1
    assert entry.details["payments_kept"] == 1


def test_attendance_at_past_events_stays_while_coming_registrations_end() -> None:
    past = add_event(starts_in=timedelta(days=1))
    coming = add_event(requires_approval=True)
    full = add_event(capacity=1)
    leaving = member_of("link-j")
    attended = registering.register(leaving, past, ticket_type_id=ticket(past, "linkj_member").id)
    pending = registering.register(
        leaving, coming, ticket_type_id=ticket(coming, "linkj_member").id
    )
    registering.register(member_of("link-j"), full, ticket_type_id=ticket(full, "linkj_member").id)
    waitlisted = registering.register(leaving, full, ticket_type_id=ticket(full, "linkj_member").id)
    db.session.execute(
        Registration.__table__.update()
        .where(Registration.id == attended.id)
        .values(status="checked_in", checked_in_at=utcnow())
    )
    past.starts_at, past.ends_at = utcnow() - timedelta(days=3), utcnow() - timedelta(days=2)
    db.session.commit()

    accounts.delete_account(leaving, password=PASSWORD)

    assert fresh(attended).status == RegistrationStatus.CHECKED_IN  # it happened
    assert fresh(pending).status == RegistrationStatus.CANCELLED
    assert fresh(waitlisted).status == RegistrationStatus.CANCELLED
    assert outbox("events/registration_promoted") == []  # no seat was freed
    [entry] = audit("person.delete")
    assert entry.details["registrations_cancelled"] == 2


def test_deleting_an_account_withdraws_its_consents_and_keeps_them_as_the_record() -> None:
    leaving = member_of("link-j")
    add_consent(leaving, "biocom")
    service = add_service("link-j-biocom-2016", "biocom", requires_approval=True)
    claim = benefits.claim_benefit(leaving, service)

    accounts.delete_account(leaving, password=PASSWORD)

    assert fresh(claim).status == ClaimStatus.CANCELLED
    [consent] = db.session.scalars(select(CrossBorderConsent)).all()
    assert consent.withdrawn_at is not None
    [entry] = audit("person.delete")
    assert (entry.details["claims_withdrawn"], entry.details["consents_withdrawn"]) == (1, 1)


def test_a_card_payment_succeeding_after_deletion_does_not_bring_the_seat_back() -> None:
    event = paid_forum(capacity=5)
    leaving = member_of("link-j")
    held = registering.register(leaving, event, ticket_type_id=ticket(event, "linkj_member").id)
    assert held.status == RegistrationStatus.AWAITING_PAYMENT

    accounts.delete_account(leaving, password=PASSWORD)

    # What the payments area does when Stripe later says the payment succeeded: no seat, so
    # it refunds.
    assert holds.reinstate_paid(fresh(held)) is False
    assert fresh(held).status == RegistrationStatus.CANCELLED


def test_a_busy_event_lock_leaves_the_account_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.locking import Busy

    event = add_event()
    leaving = member_of("link-j")
    seat = registering.register(leaving, event, ticket_type_id=ticket(event, "linkj_member").id)

    def busy(*args: object) -> None:
        db.session.rollback()
        raise Busy()

    monkeypatch.setattr("portal.events.leaving.lock_rows", busy)
    with pytest.raises(Busy):
        accounts.delete_account(leaving, password=PASSWORD)

    assert fresh(seat).status == RegistrationStatus.CONFIRMED
    person = fresh(leaving)
    assert person.deleted_at is None and person.memberships
    assert audit("person.delete") == []


# --- export ---------------------------------------------------------------------------------


def test_the_export_holds_every_areas_part_and_what_deletion_keeps(client: FlaskClient) -> None:
    event = paid_forum(capacity=5)
    person = member_of("link-j", "ken@nihonbashi-pharma.example")
    paid_by_invoice(person, event)
    add_consent(person, "biocom")
    service = add_service("link-j-biocom-2016", "biocom", title_en="Introductions")
    benefits.claim_benefit(person, service)
    login(client, person)

    response = client.get("/account/export", headers=EN)

    data = response.get_json()
    assert response.mimetype == "application/json"
    [registration] = data["event_registrations"]
    assert registration["event"] == event.slug and registration["status"] == "confirmed"
    assert registration["answers"] == [
        {"question": "Dietary needs or affiliation", "answer": ANSWER}
    ]
    [payment] = data["payments"]
    [invoice] = data["invoices"]
    assert (payment["amount"], payment["status"], payment["invoice"]) == (
        11000,
        "paid",
        invoice["number"],
    )
    assert (invoice["recipient_company"], invoice["recipient_name"]) == (
        "Nihonbashi Pharma K.K.",
        "山田 太郎",
    )
    assert [(c["provider"], c["status"]) for c in data["benefit_claims"]] == [
        ("biocom", "approved")
    ]
    assert [(c["organization"], c["country"]) for c in data["cross_border_consents"]] == [
        ("biocom", "US")
    ]
    kept = {k["area"]: k for k in data["kept_after_deletion"]}
    assert set(kept) == {
        "account",
        "event_registrations",
        "benefit_claims",
        "cross_border_consents",
        "payments",
    }
    assert "seven years" in kept["payments"]["why"]
    assert kept["payments"]["until"] == payment["kept_until"] == invoice["kept_until"]
    assert date.fromisoformat(kept["payments"]["until"]) >= tokyo_today() + timedelta(days=7 * 365)
    assert "three years" in kept["cross_border_consents"]["why"]
    assert kept["event_registrations"]["until"] is None  # no longer identifies anyone


def test_the_export_of_someone_with_nothing_but_an_account_keeps_only_the_empty_record(
    client: FlaskClient,
) -> None:
    person = member_of("link-j")
    login(client, person)

    data = client.get("/account/export", headers=EN).get_json()

    assert data["event_registrations"] == data["payments"] == data["benefit_claims"] == []
    assert [k["area"] for k in data["kept_after_deletion"]] == ["account"]


@pytest.mark.parametrize(
    ("booked", "until"),
    [
        (date(2026, 5, 10), date(2034, 5, 31)),  # fiscal year April 2026 – March 2027
        (date(2027, 3, 31), date(2034, 5, 31)),
        (date(2027, 4, 1), date(2035, 5, 31)),
    ],
)
def test_the_books_are_kept_seven_years_after_the_fiscal_years_tax_return(
    booked: date, until: date
) -> None:
    assert kept_until(booked) == until


# --- the registry ---------------------------------------------------------------------------


def test_every_table_that_names_a_person_is_erased_by_some_area() -> None:
    handled = {table for area in personal_data.areas() for table in area.tables}
    handled |= set(accounts.ERASED_BY_ACCOUNTS)
    naming = {table.name for table in db.metadata.sorted_tables if "person_id" in table.c}

    assert naming - handled == set()


def test_accounts_imports_no_area_built_on_it() -> None:
    """organizations → accounts → benefits, events → payments: accounts learns of the others
    only through the registry (its pages may show their parts)."""
    above = ("portal.benefits", "portal.events", "portal.payments")
    folder = Path(accounts.__file__).parent
    offending = []
    for module in sorted(folder.glob("*.py")):
        if module.name == "views.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offending += [f"{module.name}: {n}" for n in names if n.startswith(above)]
    assert offending == []


def test_deleting_is_one_transaction_even_when_a_late_area_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = add_event()
    leaving = member_of("link-j")
    seat = registering.register(leaving, event, ticket_type_id=ticket(event, "linkj_member").id)
    [payments_area] = [a for a in personal_data.areas() if a.name == "payments"]

    def broken(person: Person, moment: object) -> dict[str, int]:
        raise RuntimeError("the payments area failed")

    monkeypatch.setitem(
        personal_data._AREAS,
        "payments",
        personal_data.PersonalDataArea(
            position=payments_area.position,
            name="payments",
            export=payments_area.export,
            erase=broken,
            kept=payments_area.kept,
        ),
    )
    with pytest.raises(RuntimeError):
        accounts.delete_account(leaving, password=PASSWORD)
    db.session.rollback()

    assert fresh(seat).status == RegistrationStatus.CONFIRMED  # the events area's part undone
    assert fresh(leaving).deleted_at is None


def test_claims_keep_no_decision_note_after_deletion() -> None:
    leaving = member_of("link-j")
    service = add_service("link-j-krp-2017", "krp", requires_approval=True)
    claim = benefits.claim_benefit(leaving, service)
    claim.status, claim.decided_at = ClaimStatus.REJECTED.value, utcnow()
    claim.decision_note = "Taro Yamada is not on our list of Keio visitors."
    db.session.commit()

    accounts.delete_account(leaving, password=PASSWORD)

    kept = db.session.get(BenefitClaim, claim.id)
    assert kept is not None and kept.status == ClaimStatus.REJECTED
    assert "Taro" not in kept.decision_note
