"""``portal events send-reminders`` and ``release-holds``, and the demo's joint events."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role
from portal.db import utcnow
from portal.events import registering
from portal.events.cli import events_group
from portal.events.demo import DEMO_EVENTS, PAST_EVENTS, load_demo_events
from portal.events.models import Event
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Organization, OrganizationKind
from tests.factories import add_event, add_person, add_role, member_of, registrations, ticket

pytestmark = pytest.mark.usefixtures("network")


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(events_group, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def reminders() -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.kind == "events/reminder")
        )
    )


def test_send_reminders_reminds_each_registrant_once(app: Flask) -> None:
    soon = add_event(starts_in=timedelta(hours=20), reminder_hours_before=24)
    later = add_event(starts_in=timedelta(days=5), reminder_hours_before=24)
    person = member_of("link-j")
    registering.register(person, soon, ticket_type_id=ticket(soon, "linkj_member").id)
    registering.register(person, later, ticket_type_id=ticket(later, "linkj_member").id)

    assert run(app, "send-reminders") == "queued 1 reminder"
    assert run(app, "send-reminders") == "queued 0 reminders"
    assert reminders() == [person.email]


def test_release_holds_gives_a_lapsed_seat_to_the_first_waiting(app: Flask) -> None:
    event = add_event(capacity=1)
    an_hour_ago = utcnow() - timedelta(hours=1)
    payer = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id, now=an_hour_ago
    )
    waiting = registering.register(
        member_of("link-j"), event, ticket_type_id=ticket(event, "linkj_member").id
    )
    assert (payer.status, waiting.status) == ("awaiting_payment", "waitlisted")

    assert run(app, "release-holds") == "released 1 lapsed hold"
    assert run(app, "release-holds") == "released 0 lapsed holds"
    assert [r.status for r in registrations(event)] == ["cancelled", "confirmed"]


def test_the_group_lists_its_commands(app: Flask) -> None:
    output = run(app, "--help")

    assert "send-reminders" in output and "release-holds" in output


# --- demo data -----------------------------------------------------------------------------------


@pytest.fixture
def staff() -> None:
    add_role(add_person("someone@link-j.example"), Role.STAFF)


def _events() -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event).order_by(Event.id)))


@pytest.mark.usefixtures("staff")
def test_the_demo_adds_upcoming_joint_events_with_each_partner_once() -> None:
    lines = load_demo_events()
    again = load_demo_events()

    events = [e for e in _events() if e.slug in {spec.slug for spec in DEMO_EVENTS}]
    assert len(_events()) == len(DEMO_EVENTS) + len(PAST_EVENTS) and lines == again
    assert all(e.status == "published" and e.starts_at > utcnow() for e in events)
    partners = set(
        db.session.scalars(
            select(Organization.slug).where(Organization.kind == OrganizationKind.PARTNER)
        )
    )
    assert partners <= {o.slug for e in events for o in (e.host, *e.cohosts)}
    by_slug = {e.slug: e for e in events}
    forum = by_slug["kobe-nihonbashi-regenerative-medicine-seminar"]
    assert {forum.host.slug, *(o.slug for o in forum.cohosts)} == {"ibri", "link-j"}
    assert {t.currency for t in forum.ticket_types} == {"JPY"}
    assert any(t.price > 0 for t in forum.ticket_types)  # a paid one, in yen
    assert by_slug["biocom-san-diego-partnering-day"].timezone == "America/Los_Angeles"
    assert any(all(t.price == 0 for t in e.ticket_types) for e in events)  # a free one
    assert any(e.requires_approval for e in events)
    assert any(e.visibility == "linkj" for e in events)
    assert lines[0].startswith("Demo events")
    assert any("/events/biocom-san-diego-partnering-day" in line for line in lines)


@pytest.mark.usefixtures("staff")
def test_the_demo_forum_shows_local_times_and_a_program() -> None:
    load_demo_events()

    forum = next(e for e in _events() if e.slug == "kobe-nihonbashi-regenerative-medicine-seminar")

    local = forum.starts_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (13, 30)
    assert len(forum.sessions) == 4 and forum.questions[0].required


@pytest.mark.usefixtures("staff")
def test_the_demos_yen_tickets_carry_the_standard_consumption_tax() -> None:
    load_demo_events()

    tickets = [t for e in _events() for t in e.ticket_types]

    assert {t.tax_rate for t in tickets if t.currency == "JPY"} == {10}
    assert {t.tax_rate for t in tickets if t.currency != "JPY"} == {0}


def test_the_demo_needs_a_staff_account() -> None:
    with pytest.raises(RuntimeError, match="staff account"):
        load_demo_events()
    assert _events() == []


# --- a payment confirmed while the release job runs keeps its seat ---------------------------


@pytest.mark.usefixtures("postgres_only")
def test_a_payment_confirmed_while_holds_are_released_is_kept(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy import text

    event = add_event(capacity=1)
    payer = registering.register(
        add_person(),
        event,
        ticket_type_id=ticket(event, "non_member").id,
        now=utcnow() - timedelta(hours=1),
    )
    webhook_done = []

    def webhook_arrives_meanwhile(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202, PLR0913
        # Between the job finding the lapsed hold and releasing it, the payment webhook
        # confirms the seat on its own connection and commits.
        if webhook_done or not statement.startswith("UPDATE registration SET status"):
            return
        webhook_done.append(True)
        with db.engine.connect() as other:
            other.execute(
                text(
                    "UPDATE registration SET status = 'confirmed', hold_expires_at = NULL "
                    "WHERE id = :id AND status = 'awaiting_payment'"
                ),
                {"id": payer.id},
            )
            other.commit()

    sa_event.listen(db.engine, "before_cursor_execute", webhook_arrives_meanwhile)
    try:
        run(app, "release-holds")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", webhook_arrives_meanwhile)

    assert webhook_done
    assert [r.status for r in registrations(event)] == ["confirmed"], payer.id
