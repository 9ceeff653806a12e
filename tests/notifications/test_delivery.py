"""Mail delivery through a real SMTP server (aiosmtpd) on a free loopback port.

Rule 8: a message is queued in the transaction of the change it reports, so a rolled-back
change sends nothing; and a mail server that is down loses nothing: the message waits and
goes out on a later run, once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from portal.accounts import services
from portal.db import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.services import (
    MAX_ATTEMPTS,
    Attachment,
    DrawnAttachment,
    WrittenWhenSent,
    attachment_drawer,
    deliver_due,
    mail_writer,
    qr_code_png,
    queue_mail,
    smtp_transport,
)
from tests.factories import add_person, count, outbox

COMPANY = "三井ライフサイエンス株式会社"
ACCEPT_URL = "https://portal.link-j.org/invitations/tok-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping what arrives; refuses recipients at ``bounce.example``."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.endswith("@bounce.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.received.append(envelope.content)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(content, policy=policy.default)  # type: ignore[misc]
            for content in self.received
        ]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail_config(app: Flask) -> Iterator[dict[str, Any]]:
    """The app's mail settings, restored after the test."""
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD")
    saved = {key: app.config[key] for key in keys}
    app.config.update(MAIL_USE_TLS=False, MAIL_USERNAME=None, MAIL_PASSWORD=None)
    yield app.config
    app.config.update(saved)


@pytest.fixture
def smtp(mail_config: dict[str, Any]) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    mail_config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.stop()


def queue_invitation(
    to: str = "aoi@mitsui-life.example", attachments: tuple[Attachment, ...] = ()
) -> OutboxMessage:
    """Queue a real template (the corporate invitation, in Japanese) without committing."""
    return queue_mail(
        to=to,
        template="accounts/invitation",
        locale="ja",
        company=SimpleNamespace(name=COMPANY),
        inviter=SimpleNamespace(
            family_name="三井", given_name="一郎", romanized_name="", deleted_at=None
        ),
        accept_url=ACCEPT_URL,
        register_url="https://portal.link-j.org/register",
        attachments=attachments,
    )


def deliver(now: datetime | None = None) -> Any:
    return deliver_due(smtp_transport(), now=now)


def stored(message: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row is not None
    return row


# --- rule 8: with the change, or not at all -------------------------------------------------


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(smtp: SmtpServer) -> None:
    queue_invitation()
    db.session.rollback()

    report = deliver()

    assert report.sent == 0
    assert smtp.inbox.received == []
    assert count(OutboxMessage) == 0


def test_a_change_whose_commit_fails_sends_nothing(smtp: SmtpServer) -> None:
    person = add_person("ken@lab.example")
    session = db.session()

    def database_gone(_session: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(session, "before_commit", database_gone)
    try:
        with pytest.raises(OperationalError):
            services.request_password_reset(person.email, locale="en")
    finally:
        event.remove(session, "before_commit", database_gone)
    db.session.rollback()

    deliver()
    assert smtp.inbox.received == []
    assert outbox() == []


def test_committed_mail_is_delivered_once_with_subject_and_body_intact(
    smtp: SmtpServer,
) -> None:
    message = queue_invitation()
    db.session.commit()

    report = deliver()

    assert report.sent == 1
    [received] = smtp.inbox.messages
    assert received["Subject"] == message.subject
    assert received["Subject"].startswith(COMPANY)
    assert received["To"] == "aoi@mitsui-life.example"
    assert received["From"] == "LINK-J Portal <portal@link-j.org>"
    assert received["Message-ID"]
    body = received.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "三井 一郎" in text  # 姓 名 order for a Japanese reader
    assert ACCEPT_URL in text
    assert text.strip() == message.body_text.strip()
    assert smtp.inbox.recipients == [["aoi@mitsui-life.example"]]
    row = stored(message)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, "")
    assert row.sent_at is not None


def test_running_delivery_again_sends_nothing_twice(smtp: SmtpServer) -> None:
    queue_invitation()
    db.session.commit()
    deliver()

    again = deliver(now=utcnow() + timedelta(days=1))

    assert (again.sent, again.retried, again.failed) == (0, 0, 0)
    assert len(smtp.inbox.received) == 1


def test_mail_is_not_sent_before_it_is_due(smtp: SmtpServer) -> None:
    message = queue_invitation()
    message.next_attempt_at = utcnow() + timedelta(minutes=10)
    db.session.commit()

    assert deliver().sent == 0
    assert deliver(now=utcnow() + timedelta(minutes=11)).sent == 1


def test_several_messages_go_out_in_queue_order(smtp: SmtpServer) -> None:
    for name in ("aoi", "ren", "sora"):
        queue_invitation(to=f"{name}@mitsui-life.example")
    db.session.commit()

    assert deliver().sent == 3
    assert [m["To"] for m in smtp.inbox.messages] == [
        "aoi@mitsui-life.example",
        "ren@mitsui-life.example",
        "sora@mitsui-life.example",
    ]


def test_attachments_arrive_byte_for_byte(smtp: SmtpServer) -> None:
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:\xe5\x86\x8d\xe7\x94\x9f\r\nEND:VCALENDAR\r\n"
    pdf = bytes(range(256)) * 4
    queue_invitation(
        attachments=(
            Attachment("ticket.ics", "text/calendar", ics),
            Attachment("領収書.pdf", "application/pdf", pdf),
        )
    )
    db.session.commit()

    deliver()

    [received] = smtp.inbox.messages
    parts = {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in received.iter_attachments()
    }
    assert parts == {
        "ticket.ics": ("text/calendar", ics),
        "領収書.pdf": ("application/pdf", pdf),
    }


def test_a_qr_code_is_drawn_when_the_message_is_sent(smtp: SmtpServer) -> None:
    queue_invitation(attachments=(DrawnAttachment.qr_code("ticket-qr.png", "LINKJ-TICKET:AB12CD"),))
    db.session.commit()
    [stored] = db.session.scalars(select(OutboxMessage)).all()
    assert "content_b64" not in stored.attachments[0]  # nothing drawn while queueing

    deliver()

    [received] = smtp.inbox.messages
    [part] = received.iter_attachments()
    png = part.get_payload(decode=True)
    assert part.get_content_type() == "image/png"
    assert png == qr_code_png("LINKJ-TICKET:AB12CD")
    assert png.startswith(b"\x89PNG\r\n")


def test_an_attachment_whose_subject_is_gone_is_left_out(smtp: SmtpServer) -> None:
    @attachment_drawer("test-vanished")
    def vanished(argument: str) -> bytes | None:
        return None

    queue_invitation(
        attachments=(
            DrawnAttachment("gone.ics", "text/calendar", "test-vanished", "1"),
            DrawnAttachment.qr_code("ticket-qr.png", "LINKJ-TICKET:AB12CD"),
        )
    )
    db.session.commit()

    deliver()

    [received] = smtp.inbox.messages
    assert [p.get_filename() for p in received.iter_attachments()] == ["ticket-qr.png"]


# --- messages the worker writes when it sends them --------------------------------------------


def _invitation_context(company: str) -> dict[str, Any]:
    return {
        "company": SimpleNamespace(name=company),
        "inviter": SimpleNamespace(
            family_name="三井", given_name="一郎", romanized_name="", deleted_at=None
        ),
        "accept_url": ACCEPT_URL,
        "register_url": "https://portal.link-j.org/register",
    }


def test_a_message_written_when_sent_is_written_then_in_its_language_and_kept(
    smtp: SmtpServer,
) -> None:
    companies = {"7": "三井ライフ（旧社名）"}
    asked: list[str] = []

    @mail_writer("test-company")
    def company_invitation(argument: str) -> dict[str, Any] | None:
        asked.append(argument)
        return _invitation_context(companies[argument])

    message = queue_mail(
        to="aoi@mitsui-life.example",
        template="accounts/invitation",
        locale="ja",
        written_when_sent=WrittenWhenSent("test-company", "7"),
    )
    db.session.commit()
    assert (message.subject, message.body_text, asked) == ("", "", [])  # nothing written yet
    companies["7"] = COMPANY  # renamed before the worker sends it

    assert deliver().sent == 1

    [received] = smtp.inbox.messages
    assert received["Subject"].startswith(COMPANY)
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "三井 一郎" in text and ACCEPT_URL in text  # Japanese, as queued
    row = stored(message)
    assert row.subject == received["Subject"]  # what went out is kept
    assert row.body_text.strip() == text.strip()
    assert asked == ["7"]


def _gone(argument: str) -> dict[str, Any] | None:
    return None


def _broken(argument: str) -> dict[str, Any] | None:
    raise LookupError(f"no such thing as {argument}")


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (_gone, "What this message was to tell of no longer exists."),
        (_broken, "LookupError: no such thing as 42"),
    ],
    ids=["its subject is gone", "writing it raises"],
)
def test_a_message_that_cannot_be_written_fails_says_why_and_the_others_still_go(
    smtp: SmtpServer, writer: Any, reason: str
) -> None:
    mail_writer(f"test-{writer.__name__}")(writer)
    message = queue_mail(
        to="aoi@mitsui-life.example",
        template="accounts/invitation",
        locale="en",
        written_when_sent=WrittenWhenSent(f"test-{writer.__name__}", "42"),
    )
    queue_invitation(to="kenji@mitsui-life.example")
    db.session.commit()

    report = deliver()

    assert (report.sent, report.failed) == (1, 1)
    assert smtp.inbox.recipients == [["kenji@mitsui-life.example"]]
    row = stored(message)
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, reason)


# --- a mail server that is down loses nothing -----------------------------------------------


def test_mail_server_down_keeps_the_message_for_a_retry_a_minute_later(
    smtp: SmtpServer,
) -> None:
    message = queue_invitation()
    db.session.commit()
    smtp.stop()
    moment = utcnow()

    report = deliver(now=moment)

    assert (report.sent, report.retried) == (0, 1)
    row = stored(message)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 1)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at == moment + timedelta(minutes=1)


def test_queued_message_goes_out_once_the_server_is_back(smtp: SmtpServer) -> None:
    message = queue_invitation()
    db.session.commit()
    smtp.stop()
    moment = utcnow()
    deliver(now=moment)
    smtp.start()

    too_early = deliver(now=moment + timedelta(seconds=30))
    later = deliver(now=moment + timedelta(minutes=1, seconds=1))

    assert (too_early.sent, later.sent) == (0, 1)
    assert len(smtp.inbox.received) == 1
    row = stored(message)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


def test_retries_back_off_and_give_up_after_max_attempts(smtp: SmtpServer) -> None:
    message = queue_invitation()
    db.session.commit()
    smtp.stop()
    moment = utcnow()
    delays = []

    for _ in range(MAX_ATTEMPTS - 1):
        assert deliver(now=moment).retried == 1
        row = stored(message)
        delays.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at
    final = deliver(now=moment)

    assert [d // timedelta(minutes=1) for d in delays] == [1, 2, 4, 8, 16, 32, 60][
        : MAX_ATTEMPTS - 1
    ]
    assert final.failed == 1
    row = stored(message)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    assert row.last_error


def test_failed_message_is_not_sent_even_when_the_server_is_back(smtp: SmtpServer) -> None:
    message = queue_invitation()
    message.attempts = MAX_ATTEMPTS - 1
    db.session.commit()
    smtp.stop()
    deliver()
    smtp.start()

    report = deliver(now=utcnow() + timedelta(days=7))

    assert report.sent == 0
    assert smtp.inbox.received == []
    assert stored(message).status == OutboxStatus.FAILED


def test_refused_recipient_is_retried_while_the_others_go_out(smtp: SmtpServer) -> None:
    bounced = queue_invitation(to="nobody@bounce.example")
    fine = queue_invitation(to="aoi@mitsui-life.example")
    db.session.commit()

    report = deliver()

    assert (report.sent, report.retried) == (1, 1)
    assert stored(fine).status == OutboxStatus.SENT
    row = stored(bounced)
    assert row.status == OutboxStatus.QUEUED
    assert "Refused" in row.last_error


# --- the database lost while a message is on its way ---------------------------------------


def _lose_the_database_at_commit(when: Any) -> Any:
    """Make the session's next commit fail as a killed connection would, once ``when()``."""
    session = db.session()
    lost: list[bool] = []

    def commit(_session: object) -> None:
        if not lost and when():
            lost.append(True)
            raise OperationalError("COMMIT", {}, Exception("terminating connection"))

    event.listen(session, "before_commit", commit)
    return lambda: event.remove(session, "before_commit", commit)


def test_a_sent_message_the_database_forgot_is_recorded_before_anything_else_goes(
    smtp: SmtpServer,
) -> None:
    first = queue_invitation(to="aoi@mitsui-life.example")
    second = queue_invitation(to="ren@mitsui-life.example")
    db.session.commit()
    waits: list[float] = []
    # The first commit after the server accepted the first message: recording it as sent.
    restore = _lose_the_database_at_commit(lambda: len(smtp.inbox.received) == 1)
    try:
        report = deliver_due(smtp_transport(), wait=waits.append)
    finally:
        restore()

    assert report.sent == 2
    assert smtp.inbox.recipients == [["aoi@mitsui-life.example"], ["ren@mitsui-life.example"]]
    assert waits == [0.5]  # tried once more, before the second message went
    assert (stored(first).status, stored(first).attempts) == (OutboxStatus.SENT, 1)
    assert stored(second).status == OutboxStatus.SENT


def test_another_worker_leaves_a_message_on_its_way_alone(app: Flask, smtp: SmtpServer) -> None:
    message = queue_invitation(to="aoi@mitsui-life.example")
    db.session.commit()
    others: list[Any] = []

    def meanwhile_another_worker_runs(_delay: float) -> None:
        with app.app_context():
            others.append(deliver_due(smtp_transport()))

    restore = _lose_the_database_at_commit(lambda: len(smtp.inbox.received) == 1)
    try:
        deliver_due(smtp_transport(), wait=meanwhile_another_worker_runs)
    finally:
        restore()

    assert [(o.sent, o.retried, o.failed) for o in others] == [(0, 0, 0)]
    assert smtp.inbox.recipients == [["aoi@mitsui-life.example"]]
    assert stored(message).status == OutboxStatus.SENT


def test_a_worker_waiting_for_mail_holds_no_transaction(smtp: SmtpServer) -> None:
    queue_invitation()
    db.session.commit()

    deliver()

    assert not db.session().in_transaction()


def test_a_database_lost_before_sending_sends_nothing_and_loses_nothing(
    smtp: SmtpServer,
) -> None:
    message = queue_invitation()
    db.session.commit()
    restore = _lose_the_database_at_commit(lambda: True)  # the lease, before sending
    try:
        with pytest.raises(OperationalError):
            deliver()
    finally:
        restore()
    db.session.rollback()

    assert smtp.inbox.received == []
    assert deliver().sent == 1
    assert stored(message).status == OutboxStatus.SENT


# --- several workers (PostgreSQL) -----------------------------------------------------------


def test_two_workers_never_send_the_same_message_twice(
    app: Flask, smtp: SmtpServer, postgres_only: None
) -> None:
    for n in range(12):
        queue_invitation(to=f"colleague{n}@mitsui-life.example")
    db.session.commit()
    db.session.close()
    start = threading.Barrier(2)
    sent: list[str] = []
    errors: list[BaseException] = []

    def slow_transport(email: EmailMessage) -> None:
        time.sleep(0.02)  # long enough for the two workers to overlap on every message
        sent.append(str(email["To"]))

    def worker() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                deliver_due(slow_transport)
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(sent) == sorted(f"colleague{n}@mitsui-life.example" for n in range(12))
    assert count(OutboxMessage) == 12
    assert {m.status for m in outbox()} == {OutboxStatus.SENT.value}


# --- the worker command ---------------------------------------------------------------------


def test_outbox_deliver_prints_mail_when_no_server_is_configured(
    app: Flask, mail_config: dict[str, Any]
) -> None:
    mail_config["MAIL_SERVER"] = None
    message = queue_invitation()
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])

    assert result.exit_code == 0, result.output
    assert f"--- mail to aoi@mitsui-life.example: {message.subject}" in result.output
    assert ACCEPT_URL in result.output
    assert "sent 1, will retry 0, failed 0" in result.output
    assert stored(message).status == OutboxStatus.SENT


def test_outbox_deliver_says_in_one_line_that_the_database_is_away(tmp_path: Any) -> None:
    from portal import create_app

    away = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no' / 'such.db'}"})

    with away.app_context():
        result = away.test_cli_runner().invoke(args=["outbox", "deliver"])

    assert result.exit_code == 1
    assert result.output.startswith("portal: the database is not reachable (")
    assert "Traceback" not in result.output


def test_outbox_deliver_sends_over_smtp_when_a_server_is_configured(
    app: Flask, smtp: SmtpServer
) -> None:
    queue_invitation()
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])

    assert result.exit_code == 0, result.output
    assert "sent 1, will retry 0, failed 0" in result.output
    assert len(smtp.inbox.received) == 1
