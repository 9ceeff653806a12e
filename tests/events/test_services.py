"""Events: prices and who may register, capacity and the waitlist, check-in, reminders."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import delete, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events import (
    calendar,
    checkin,
    decisions,
    holds,
    leaving,
    mail,
    organizers,
    pricing,
    registering,
    seats,
    setup,
)
from portal.events.mail import tell_registrant
from portal.events.models import (
    Audience,
    Event,
    EventStatus,
    Registration,
    TicketType,
    Visibility,
)
from portal.events.registering import RegistrationClosed
from portal.events.setup import EventData, QuestionData, SessionData, TicketTypeData
from portal.extensions import db
from portal.locking import _select_for_update
from portal.notifications.models import OutboxMessage
from portal.notifications.services import build_email, qr_code_png, write_message
from portal.organizations.models import Agreement
from tests.factories import (
    add_consent,
    add_event,
    add_person,
    add_role,
    later,
    member_of,
    org,
    registrations,
    ticket,
)

pytestmark = pytest.mark.usefixtures("network")


def _kinds() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


# --- prices and eligibility (rule 3) ---


def test_biocom_member_gets_the_partner_rate_under_the_linkj_biocom_mou() -> None:
    event = add_event(host="ibri", cohosts=("link-j",), agreements=("link-j-biocom-2016",))
    person = member_of("biocom")

    offers = pricing.offers_for(person, event)

    assert offers[0].ticket_type.audience == Audience.PARTNER_MEMBER
    assert offers[0].reason == {
        "audience": "partner_member",
        "organization": "biocom",
        "agreement": "link-j-biocom-2016",
    }
    assert pricing.describe_reason(offers[0].reason) == (
        "Partner-member rate under the LINK-J–BIOCOM MOU"
    )


def test_partner_rate_needs_the_partners_mou_to_be_in_force() -> None:
    event = add_event()
    person = member_of("biocom")
    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-biocom-2016"))
    agreement.status = "suspended"
    db.session.commit()

    audiences = {o.ticket_type.audience for o in pricing.offers_for(person, event)}

    assert audiences == {"non_member"}


def test_partner_rate_is_only_for_the_mous_the_event_runs_under() -> None:
    event = add_event(agreements=("link-j-ucsd-2016",))

    audiences = {o.ticket_type.audience for o in pricing.offers_for(member_of("biocom"), event)}

    assert audiences == {"non_member"}


def test_pending_membership_gives_no_member_rate() -> None:
    event = add_event()
    person = add_person()
    from tests.factories import add_membership

    add_membership(person, "link-j", status="pending")
    db.session.refresh(person)

    assert [o.ticket_type.audience for o in pricing.offers_for(person, event)] == ["non_member"]


def test_expired_membership_gives_no_member_rate() -> None:
    event = add_event()
    person = add_person()
    from tests.factories import add_membership

    add_membership(person, "link-j", status="verified", valid_until=later(days=-2).date())
    db.session.refresh(person)

    assert [o.ticket_type.audience for o in pricing.offers_for(person, event)] == ["non_member"]


def test_linkj_member_gets_the_linkj_rate_cheapest_first() -> None:
    event = add_event()

    offers = pricing.offers_for(member_of("link-j"), event)

    assert [o.ticket_type.audience for o in offers] == ["linkj_member", "non_member"]


def test_linkj_only_event_is_hidden_from_partner_members_and_anonymous() -> None:
    event = add_event(visibility=Visibility.LINKJ.value)

    assert pricing.can_see(member_of("link-j"), event)
    assert not pricing.can_see(member_of("biocom"), event)
    assert not pricing.can_see(None, event)


def test_network_event_is_for_linkj_and_partner_members() -> None:
    event = add_event(visibility=Visibility.NETWORK.value)

    assert pricing.can_see(member_of("one-nucleus"), event)
    assert not pricing.can_see(add_person(), event)


def test_registering_for_a_hidden_event_answers_not_found() -> None:
    event = add_event(visibility=Visibility.LINKJ.value)
    person = member_of("biocom")

    with pytest.raises(NotFound):
        registering.register(person, event, ticket_type_id=ticket(event, "non_member").id)

    assert registrations(event) == []


def test_a_ticket_type_not_open_to_the_person_is_refused() -> None:
    event = add_event()
    person = add_person()

    with pytest.raises(InvalidInput, match="not open to you"):
        registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)

    assert registrations(event) == []


# --- registering ---


def test_free_registration_is_confirmed_with_ticket_mail_qr_and_ics() -> None:
    event = add_event()
    person = member_of("link-j")

    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "linkj_member").id
    )

    assert registration.status == "confirmed"
    assert registration.price == 0 and registration.confirmed_at is not None
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "events/registration_confirmed"
    assert mail.body_text == ""  # written by the mail worker, when it sends it
    assert write_message(mail)
    assert registration.code in mail.body_text
    assert {a["filename"] for a in mail.attachments} == {"event.ics", "ticket-qr.png"}


#: What a queued message holds besides its id and times.
_MAIL_COLUMNS = (
    "person_id",
    "to_address",
    "subject",
    "body_text",
    "locale",
    "written_from",
    "kind",
    "attachments",
    "status",
    "attempts",
    "last_error",
    "sent_at",
)


@pytest.mark.parametrize(
    ("outcome", "audience"),
    [
        ("confirmed", "linkj_member"),
        ("waitlisted", "linkj_member"),
        ("awaiting_payment", "non_member"),
        ("pending_approval", "linkj_member"),
    ],
)
def test_the_mail_queued_with_a_registration_is_the_one_telling_of_it(
    outcome: str, audience: str
) -> None:
    """On PostgreSQL the registration's own statement queues the mail (a WITH), elsewhere a
    second statement does (``tell_registrant``): the same message either way."""
    event = add_event(capacity=1, requires_approval=outcome == "pending_approval")
    if outcome == "waitlisted":
        registering.register(member_of("link-j"), event, ticket_type_id=ticket(event, audience).id)
    person = member_of("link-j") if audience == "linkj_member" else add_person()
    person.preferred_locale = "ja"

    registration = registering.register(person, event, ticket_type_id=ticket(event, audience).id)
    queued = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.person_id == person.id)
    ).one()
    tell_registrant(registration)
    db.session.flush()
    told = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.person_id == person.id, OutboxMessage.id != queued.id
        )
    ).one()

    assert registration.status == outcome
    assert {c: getattr(queued, c) for c in _MAIL_COLUMNS} == {
        c: getattr(told, c) for c in _MAIL_COLUMNS
    }
    assert queued.written_from == {"writer": "registration", "argument": str(registration.id)}
    assert abs(queued.created_at - registration.created_at) < timedelta(seconds=5)
    assert queued.next_attempt_at <= utcnow()


def test_the_ticket_mail_is_drawn_at_sending_with_the_event_as_it_then_is() -> None:
    event = add_event(online_url="https://meet.example/forum")
    person = member_of("link-j")
    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "linkj_member").id
    )
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert all("content_b64" not in a for a in mail.attachments)  # nothing drawn at queueing
    event.venue_en = event.venue_ja = "Shonan iPark"  # moved before the worker sends it
    db.session.commit()

    parts = {
        part.get_filename(): part.get_payload(decode=True)
        for part in build_email(mail, "portal@example.org").iter_attachments()
    }

    [entry] = Calendar.from_ical(parts["event.ics"]).walk("VEVENT")
    assert str(entry["location"]) == "Shonan iPark"
    assert str(entry["url"]) == "https://meet.example/forum"  # a confirmed attendee's link
    assert parts["ticket-qr.png"] == qr_code_png(calendar.qr_payload(registration.code))
    assert write_message(mail)
    assert "Shonan iPark" in mail.body_text  # the text too, written when sent


def test_the_registrants_mail_is_written_in_their_language_as_it_is_when_sent() -> None:
    event = add_event()
    person = member_of("link-j")
    person.preferred_locale = "ja"
    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "linkj_member").id
    )
    leaving.cancel_registration(registration, actor=person)
    confirmed, cancelled = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))

    assert write_message(confirmed) and write_message(cancelled)

    assert (confirmed.locale, confirmed.kind) == ("ja", "events/registration_confirmed")
    assert "再生医療産業化フォーラム" in confirmed.body_text  # the event's Japanese title
    assert f"/events/tickets/{registration.id}" in confirmed.body_text
    assert cancelled.kind == "events/registration_cancelled"


def test_a_registrants_mail_whose_registration_is_gone_is_not_written() -> None:
    event = add_event()
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    # Removed by hand from the database before the worker came to it.
    db.session.execute(delete(Registration).where(Registration.id == registration.id))
    db.session.commit()

    assert not write_message(mail)
    assert mail.body_text == ""


def test_paid_ticket_holds_the_seat_while_awaiting_payment() -> None:
    event = add_event()

    registration = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )

    assert registration.status == "awaiting_payment"
    assert registration.price == 5000 and registration.currency == "JPY"
    assert registration.hold_expires_at is not None
    assert later(minutes=29) < registration.hold_expires_at < later(minutes=31)


def test_registering_twice_returns_the_same_registration() -> None:
    event = add_event()
    person = member_of("link-j")
    chosen = ticket(event, "linkj_member").id

    first = registering.register(person, event, ticket_type_id=chosen)
    second = registering.register(person, event, ticket_type_id=chosen)

    assert first.id == second.id
    assert len(registrations(event)) == 1


def test_the_database_refuses_a_second_live_registration() -> None:
    event = add_event()
    person = member_of("link-j")
    registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)

    from sqlalchemy.exc import IntegrityError

    db.session.add(
        Registration(
            event_id=event.id,
            person_id=person.id,
            ticket_type_id=ticket(event, "linkj_member").id,
            status="waitlisted",
            code="X" * 20,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_after_cancelling_a_person_may_register_again() -> None:
    event = add_event()
    person = member_of("link-j")
    first = registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)
    leaving.cancel_registration(first, actor=person)

    again = registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)

    assert again.id != first.id and again.status == "confirmed"


def test_registration_closed_is_refused_and_changes_nothing() -> None:
    event = add_event(registration_closes_at=later(days=-1), starts_in=timedelta(days=5))

    with pytest.raises(RegistrationClosed, match="not open"):
        registering.register(
            member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
        )

    assert registrations(event) == [] and _kinds() == []


def test_registration_not_yet_open_is_refused() -> None:
    event = add_event(registration_opens_at=later(days=3))

    with pytest.raises(RegistrationClosed):
        registering.register(
            member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
        )


def test_draft_event_takes_no_registrations() -> None:
    event = add_event(status=EventStatus.DRAFT.value)

    with pytest.raises(NotFound):
        registering.register(
            member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
        )


def test_a_required_answer_missing_is_refused() -> None:
    event = add_event(
        questions=(
            {
                "kind": "single",
                "label_en": "Lunch",
                "required": True,
                "options": [
                    {"value": "veg", "label_en": "Vegetarian"},
                    {"value": "any", "label_en": "Any"},
                ],
            },
        )
    )
    person = member_of("link-j")

    with pytest.raises(InvalidInput, match="Please answer “Lunch”"):
        registering.register(
            person, event, ticket_type_id=ticket(event, "linkj_member").id, answers={}
        )
    with pytest.raises(InvalidInput, match="offered answers"):
        registering.register(
            person,
            event,
            ticket_type_id=ticket(event, "linkj_member").id,
            answers={str(event.questions[0].id): "fish"},
        )

    assert registrations(event) == []


def test_answers_are_kept_with_the_registration() -> None:
    event = add_event(
        questions=(
            {"kind": "text", "label_en": "Your research field"},
            {
                "kind": "multiple",
                "label_en": "Sessions",
                "options": [{"value": "a", "label_en": "A"}, {"value": "b", "label_en": "B"}],
            },
        )
    )
    text_q, multi_q = event.questions

    registration = registering.register(
        member_of("link-j"),
        event,
        ticket_type_id=ticket(event, "linkj_member").id,
        answers={str(text_q.id): " iPS cells ", str(multi_q.id): ["a", "b"]},
    )

    assert registration.answers == {str(text_q.id): "iPS cells", str(multi_q.id): ["a", "b"]}


# --- capacity and the waitlist (rule 1) ---


def test_full_event_waitlists_the_next_person_in_order() -> None:
    event = add_event(capacity=2)
    people = [member_of("link-j") for _ in range(4)]

    results = [
        registering.register(p, event, ticket_type_id=ticket(event, "linkj_member").id).status
        for p in people
    ]

    assert results == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert _kinds()[-1] == "events/registration_waitlisted"


def test_a_ticket_types_own_capacity_is_kept() -> None:
    event = add_event(
        capacity=10,
        tickets=(
            {"audience": "non_member", "price": 0, "capacity": 1},
            {"audience": "student", "price": 0},
        ),
    )

    first = registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)
    second = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    student = registering.register(add_person(), event, ticket_type_id=ticket(event, "student").id)

    assert (first.status, second.status, student.status) == ("confirmed", "waitlisted", "confirmed")


def test_seats_are_counted_against_the_capacities_committed_when_the_lock_is_taken() -> None:
    event = add_event(
        capacity=1, tickets=({"audience": "non_member", "price": 0, "capacity": None},)
    )
    chosen = ticket(event, "non_member")
    first, second, third = add_person(), add_person(), add_person()
    registering.register(first, event, ticket_type_id=chosen.id)
    # The copy a registration holds may predate a change committed a moment ago (the event's
    # definition is remembered between requests): 5 seats in the copy, 1 in the database.
    db.session.refresh(event)
    set_committed_value(event, "capacity", 5)
    assert registering.register(second, event, ticket_type_id=chosen.id).status == "waitlisted"

    db.session.execute(update(Event).values(capacity=5))
    db.session.execute(update(TicketType).values(capacity=1))
    db.session.commit()
    db.session.refresh(event)
    db.session.refresh(chosen)
    set_committed_value(chosen, "capacity", None)  # the copy knows no limit of the type's own
    assert registering.register(third, event, ticket_type_id=chosen.id).status == "waitlisted"


def _registration_rows_read(statement: Any, parameters: dict[str, Any]) -> int:
    """Rows PostgreSQL read from the registration table to run ``statement`` as the portal
    sends it (EXPLAIN ANALYZE: rows each scan of it returned, and those its filters threw
    away)."""
    connection = db.session.connection()

    def explained(*args: Any) -> tuple[str, Any]:
        _conn, _cursor, sql, sent, _context, _many = args
        return "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, sent

    sa_event.listen(connection, "before_cursor_execute", explained, retval=True)
    try:
        plan = connection.execute(statement, parameters).scalar_one()
    finally:
        sa_event.remove(connection, "before_cursor_execute", explained)

    def read(node: dict[str, Any]) -> int:
        own = 0
        if node.get("Relation Name") == "registration":
            loops = node.get("Actual Loops", 1)
            own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
        return own + sum(read(child) for child in node.get("Plans", ()))

    return read(plan[0]["Plan"])


@pytest.mark.usefixtures("postgres_only")
def test_counting_the_seats_reads_the_seat_holders_not_the_waitlist() -> None:
    # Every registration counts the seats under the event's lock: on an opening day the
    # waitlist grows by hundreds, and reading it each time made each registrant wait longer.
    event = add_event(capacity=2)
    chosen = ticket(event, "linkj_member")
    people = [member_of("link-j") for _ in range(32)]
    for person in people:
        registering.register(person, event, ticket_type_id=chosen.id)
    assert seats.seat_state(event.id).held == 2

    rows = _registration_rows_read(
        seats.seat_state_statement(),
        {"event_id": event.id, "ticket_type_id": chosen.id, "person_id": people[-1].id},
    )

    # The two seat holders, and the person's own live registration found by its index.
    assert rows <= 3


@pytest.mark.usefixtures("postgres_only")
def test_the_events_lock_keeps_one_plan_in_postgresql() -> None:
    # Every registration takes it: a statement PostgreSQL plans afresh on each run (as it did
    # for ``id = ANY($1)``, whose generic plan it priced for more rows than one) costs the
    # database a plan per registration. Prepared and run as the driver does after five runs.
    event = add_event(capacity=100)
    connection = db.session.connection()
    sql = str(_select_for_update(Event.__table__, False).compile(dialect=connection.dialect))
    connection.exec_driver_sql(f"PREPARE lock_test AS {sql.replace('%(id)s', '$1')}")
    try:
        for _ in range(8):
            connection.exec_driver_sql(f"EXECUTE lock_test({event.id})")
        generic, custom = connection.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE name = 'lock_test'"
        ).one()
    finally:
        connection.exec_driver_sql("DEALLOCATE lock_test")

    assert generic >= 1, (generic, custom, sql)


def test_awaiting_payment_counts_against_capacity() -> None:
    event = add_event(capacity=1)

    paying = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    next_one = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    assert (paying.status, next_one.status) == ("awaiting_payment", "waitlisted")


def test_cancelling_frees_the_seat_for_the_first_on_the_waitlist() -> None:
    event = add_event(capacity=1)
    first, second, third = (member_of("link-j") for _ in range(3))
    chosen = ticket(event, "linkj_member").id
    seat = registering.register(first, event, ticket_type_id=chosen)
    waiting_1 = registering.register(second, event, ticket_type_id=chosen)
    waiting_2 = registering.register(third, event, ticket_type_id=chosen)

    leaving.cancel_registration(seat, actor=first)

    states = {r.id: r.status for r in registrations(event)}
    assert states == {seat.id: "cancelled", waiting_1.id: "confirmed", waiting_2.id: "waitlisted"}
    assert "events/registration_promoted" in _kinds()


def test_promoted_paid_ticket_gets_a_time_limited_hold() -> None:
    event = add_event(capacity=1)
    seat = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    payer = add_person()
    waiting = registering.register(payer, event, ticket_type_id=ticket(event, "non_member").id)
    assert waiting.status == "waitlisted"

    leaving.cancel_registration(seat, actor=seat.person)

    db.session.refresh(waiting)
    assert waiting.status == "awaiting_payment" and waiting.hold_expires_at is not None


def test_lapsed_hold_releases_the_seat_to_the_waitlist() -> None:
    event = add_event(capacity=1)
    payer = registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)
    waiting = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    released = holds.release_expired_holds(now=later(minutes=31))

    assert released == 1
    states = {r.id: r.status for r in registrations(event)}
    assert states == {payer.id: "cancelled", waiting.id: "confirmed"}


def test_hold_not_yet_lapsed_is_kept() -> None:
    event = add_event(capacity=1)
    payer = registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)

    assert holds.release_expired_holds(now=later(minutes=10)) == 0
    db.session.refresh(payer)
    assert payer.status == "awaiting_payment"


def test_payment_confirms_a_held_seat_once() -> None:
    event = add_event()
    payer = registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)

    assert holds.confirm_paid(payer) is True
    db.session.commit()
    assert holds.confirm_paid(payer) is False
    db.session.refresh(payer)
    assert payer.status == "confirmed"


def test_member_cannot_cancel_after_the_deadline() -> None:
    event = add_event(cancellation_closes_at=later(days=-1), starts_in=timedelta(days=3))
    person = member_of("link-j")
    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "linkj_member").id
    )

    with pytest.raises(InvalidTransition, match="deadline has passed"):
        leaving.cancel_registration(registration, actor=person)

    db.session.refresh(registration)
    assert registration.status == "confirmed"


def test_someone_else_cannot_cancel_my_registration() -> None:
    event = add_event()
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    with pytest.raises(NotFound):
        leaving.cancel_registration(registration, actor=member_of("link-j"))


def test_organizer_cancels_with_a_reason_in_the_audit_log(organizer) -> None:
    event = add_event()
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    leaving.cancel_registration(
        registration, actor=organizer, reason="Duplicate of another booking"
    )

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "registration.cancel")
    ).one()
    assert entry.actor_id == organizer.id and entry.reason == "Duplicate of another booking"


# --- approval ---


def test_event_needing_approval_holds_no_seat_until_approved(organizer) -> None:
    event = add_event(capacity=1, requires_approval=True)
    first = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    second = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    assert (first.status, second.status) == ("pending_approval", "pending_approval")

    decisions.approve_registration(second, actor=organizer)
    decisions.approve_registration(first, actor=organizer)

    db.session.refresh(first)
    db.session.refresh(second)
    assert (second.status, first.status) == ("confirmed", "waitlisted")


def test_rejecting_needs_a_reason(organizer) -> None:
    event = add_event(requires_approval=True)
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    with pytest.raises(InvalidInput):
        decisions.reject_registration(registration, actor=organizer, reason=" ")
    decisions.reject_registration(registration, actor=organizer, reason="Members of the press only")

    db.session.refresh(registration)
    assert registration.status == "rejected"


def test_partner_admin_of_a_cohost_manages_the_event_but_not_others() -> None:
    cohosted = add_event(host="ibri", cohosts=("link-j",))
    elsewhere = add_event(host="ucsd")
    ibri_admin = add_role(add_person(), Role.PARTNER_ADMIN, org("ibri"))

    assert organizers.can_manage_event(ibri_admin, cohosted)
    assert not organizers.can_manage_event(ibri_admin, elsewhere)
    member = member_of("link-j")
    add_consent(member, "ucsd")
    registration = registering.register(
        member, elsewhere, ticket_type_id=ticket(elsewhere, "linkj_member").id
    )
    with pytest.raises(NotFound):
        leaving.cancel_registration(registration, actor=ibri_admin, reason="x")


def test_staff_move_someone_off_the_waitlist_only_when_a_seat_is_free(organizer) -> None:
    event = add_event(capacity=1)
    registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    waiting = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    with pytest.raises(InvalidTransition, match="No seat is free"):
        decisions.move_off_waitlist(waiting, actor=organizer)
    db.session.refresh(waiting)
    assert waiting.status == "waitlisted"


# --- check-in ---


def test_check_in_by_code_then_twice_says_when(organizer) -> None:
    event = add_event()
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    checked = checkin.check_in(event, calendar.qr_payload(registration.code), actor=organizer)
    assert checked.status == "checked_in" and checked.checked_in_by_id == organizer.id

    with pytest.raises(InvalidTransition, match="Already checked in at"):
        checkin.check_in(event, registration.code.lower(), actor=organizer)
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "registration.check_in")
        )
        == 1
    )


def test_a_forged_code_is_refused(organizer) -> None:
    event = add_event()
    other = add_event()
    registration = registering.register(
        member_of("link-j"), other, ticket_type_id=ticket(other, "linkj_member").id
    )

    with pytest.raises(NotFound, match="No ticket of this event"):
        checkin.check_in(event, "AAAAAAAAAAAAAAAAAAAA", actor=organizer)
    with pytest.raises(NotFound):
        checkin.check_in(event, registration.code, actor=organizer)


def test_a_waitlisted_ticket_cannot_be_checked_in(organizer) -> None:
    event = add_event(capacity=1)
    registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    waiting = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    with pytest.raises(InvalidTransition, match="not confirmed"):
        checkin.check_in(event, waiting.code, actor=organizer)


# --- reminders, mass mail, cancelling the event ---


def test_reminders_go_once_however_often_the_command_runs() -> None:
    event = add_event(starts_in=timedelta(hours=20), reminder_hours_before=24)
    person = member_of("link-j")
    registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)
    far = add_event(starts_in=timedelta(days=5), reminder_hours_before=24)
    registering.register(person, far, ticket_type_id=ticket(far, "linkj_member").id)

    assert mail.send_reminders() == 1
    assert mail.send_reminders() == 0
    assert _kinds().count("events/reminder") == 1


def test_cancelling_the_event_tells_every_registrant(organizer) -> None:
    event = add_event(capacity=1)
    registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    told = setup.cancel_event(event, actor=organizer, reason="Typhoon warning for Tokyo")

    assert told == 2
    assert {r.status for r in registrations(event)} == {"cancelled"}
    assert _kinds().count("events/event_cancelled") == 2


def test_mail_to_registrants_is_queued_one_each(organizer) -> None:
    event = add_event()
    for _ in range(3):
        registering.register(
            member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
        )

    sent = mail.mail_registrants(
        event, actor=organizer, subject="Room change", body="Room 301", statuses=["confirmed"]
    )

    assert sent == 3 and _kinds().count("events/message") == 3


# --- editing events ---


def _data(**changes) -> EventData:
    start = later(days=40).replace(microsecond=0)
    fields = dict(
        slug="kobe-seminar",
        kind="seminar",
        title_en="Kobe seminar",
        title_ja="神戸セミナー",
        host_id=org("ibri").id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Asia/Tokyo",
        capacity=50,
        ticket_types=[
            TicketTypeData(audience="non_member", name_en="General", name_ja="一般", price=3000)
        ],
    )
    fields.update(changes)
    return EventData(**fields)


def test_staff_create_an_event(organizer) -> None:
    event = setup.save_event(None, _data(cohost_ids=[org("link-j").id]), actor=organizer)

    assert event.status == "draft" and event.ticket_types[0].price == 3000
    assert [o.slug for o in event.cohosts] == ["link-j"]


def _set_apart_from_defaults(*data: object) -> None:
    """Each field of the definition holds something other than its default in one of ``data``:
    a field added to the definition must be given a value here, or the test says which."""
    for f in dataclasses.fields(data[0]):  # type: ignore[arg-type]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert f.name == "id" or any(getattr(d, f.name) != default for d in data), (
            f"give {type(data[0]).__name__}.{f.name} a value"
        )


def _saved_as_given(data: object, row: object) -> None:
    for f in dataclasses.fields(data):  # type: ignore[arg-type]
        if f.name != "id":
            assert getattr(row, f.name) == getattr(data, f.name), (type(data).__name__, f.name)


def test_every_field_of_the_event_definition_reaches_the_saved_event(organizer) -> None:
    start = later(days=40).replace(microsecond=0)
    biocom_mou = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-biocom-2016"))
    tickets = [
        TicketTypeData(
            audience="non_member", name_en="General", name_ja="一般", price=11000, tax_rate=10
        ),
        TicketTypeData(
            audience="partner_member",
            name_en="Partner member",
            name_ja="パートナー会員",
            price=2550,
            currency="USD",
            capacity=7,
            agreement_id=biocom_mou.id,
            active=False,
        ),
    ]
    question = QuestionData(
        kind="single",
        label_en="Lunch",
        label_ja="昼食",
        required=True,
        options=[{"value": "a", "label_en": "A", "label_ja": "あ"}, {"value": "b"}],
    )
    session = SessionData(
        title_en="Keynote",
        title_ja="基調講演",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        room="Hall A",
    )
    data = EventData(
        slug="every-field",
        kind="forum",
        title_en="Every field",
        title_ja="すべての項目",
        host_id=org("link-j").id,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        timezone="Europe/London",
        description_en="About",
        description_ja="概要",
        language="en",
        venue_en="Hall",
        venue_ja="ホール",
        online_url="https://example.org/live",
        registration_opens_at=start - timedelta(days=20),
        registration_closes_at=start - timedelta(days=1),
        cancellation_closes_at=start - timedelta(days=2),
        capacity=42,
        visibility="network",
        requires_approval=True,
        reminder_hours_before=48,
        cohost_ids=[org("biocom").id],
        agreement_ids=[biocom_mou.id],
        ticket_types=tickets,
        questions=[question],
        sessions=[session],
    )
    for given in (tickets, [question], [session], [data]):
        _set_apart_from_defaults(*given)

    event = setup.save_event(None, data, actor=organizer)
    db.session.expire_all()

    rows = {
        "cohost_ids": [o.id for o in event.cohosts],
        "agreement_ids": [a.id for a in event.agreements],
        "ticket_types": event.ticket_types,
        "questions": event.questions,
        "sessions": event.sessions,
    }
    for f in dataclasses.fields(EventData):
        if f.name in ("ticket_types", "questions", "sessions"):
            assert len(rows[f.name]) == len(getattr(data, f.name)), f.name
            for given, saved in zip(getattr(data, f.name), rows[f.name], strict=True):
                _saved_as_given(given, saved)
        else:
            saved = rows[f.name] if f.name in rows else getattr(event, f.name)
            assert saved == getattr(data, f.name), f.name
    assert event.ticket_types[0].tax_rate == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title_en": "", "title_ja": ""}, "title"),
        ({"capacity": 0}, "capacity"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"ticket_types": []}, "ticket type"),
    ],
)
def test_bad_event_input_is_refused_and_changes_nothing(organizer, changes, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        setup.save_event(None, _data(**changes), actor=organizer)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_an_end_before_the_start_is_refused(organizer) -> None:
    data = _data()
    data.ends_at = data.starts_at - timedelta(hours=1)

    with pytest.raises(InvalidInput, match="end must be after the start"):
        setup.save_event(None, data, actor=organizer)


def test_capacity_cannot_go_below_the_seats_held(organizer) -> None:
    event = setup.save_event(None, _data(capacity=5), actor=organizer)
    setup.publish_event(event, actor=organizer)
    for _ in range(3):
        registering.register(add_person(), event, ticket_type_id=event.ticket_types[0].id)

    with pytest.raises(InvalidInput, match="3 seats are already held"):
        setup.save_event(
            event,
            _data(
                capacity=2,
                ticket_types=[
                    TicketTypeData(
                        id=event.ticket_types[0].id,
                        audience="non_member",
                        name_en="General",
                        name_ja="一般",
                        price=3000,
                    )
                ],
            ),
            actor=organizer,
        )

    db.session.refresh(event)
    assert event.capacity == 5


def test_raising_capacity_promotes_the_waitlist(organizer) -> None:
    event = setup.save_event(
        None,
        _data(
            capacity=1,
            ticket_types=[
                TicketTypeData(audience="non_member", name_en="General", name_ja="一般", price=0)
            ],
        ),
        actor=organizer,
    )
    setup.publish_event(event, actor=organizer)
    registering.register(add_person(), event, ticket_type_id=event.ticket_types[0].id)
    waiting = registering.register(add_person(), event, ticket_type_id=event.ticket_types[0].id)

    setup.save_event(
        event,
        _data(
            capacity=2,
            ticket_types=[
                TicketTypeData(
                    id=event.ticket_types[0].id,
                    audience="non_member",
                    name_en="General",
                    name_ja="一般",
                    price=0,
                )
            ],
        ),
        actor=organizer,
    )

    db.session.refresh(waiting)
    assert waiting.status == "confirmed"


def test_partner_admin_cannot_create_an_event_for_another_host() -> None:
    biocom_admin = add_role(add_person(), Role.PARTNER_ADMIN, org("biocom"))

    with pytest.raises(NotFound):
        setup.save_event(None, _data(), actor=biocom_admin)


# --- calendars and times (rule 9) ---


def test_ics_parses_back_with_the_event_in_utc_and_no_link_for_strangers() -> None:
    event = add_event(online_url="https://meet.example/forum")

    parsed = Calendar.from_ical(calendar.event_ics(event))

    [entry] = parsed.walk("VEVENT")
    assert entry.decoded("dtstart") == event.starts_at
    assert "再生医療産業化フォーラム" in str(entry.get("summary"))
    assert "meet.example" not in str(entry.get("description"))


def test_ics_for_a_confirmed_attendee_carries_the_online_link() -> None:
    event = add_event(online_url="https://meet.example/forum")
    registration = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )

    [entry] = Calendar.from_ical(calendar.event_ics(event, registration)).walk("VEVENT")

    assert str(entry.get("url")) == "https://meet.example/forum"


def test_times_show_in_the_events_own_zone() -> None:
    from datetime import UTC, datetime

    from flask_babel import force_locale

    from portal.timefmt import local_moment

    moment = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    with force_locale("en"):
        kobe = local_moment(moment, "Asia/Tokyo")
        san_diego = local_moment(moment, "America/Los_Angeles")

    assert kobe == "Mon 1 Mar 2027, 10:00 JST"  # 01:00 UTC is 10:00 in Japan
    assert san_diego == "Sun 28 Feb 2027, 17:00 PST"  # and 17:00 the day before in San Diego
