"""Queueing mail with the change it reports (rule 8), and delivering it with retries."""

from __future__ import annotations

import base64
import io
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Generic, Protocol, TypeVar

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Insert,
    String,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)

from portal.db import DATABASE_UNAVAILABLE, utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus

Made = TypeVar("Made")

#: After this many failed attempts a message is marked failed and left for staff to see.
MAX_ATTEMPTS = 8
#: How long a message being sent is kept from other workers: far longer than sending it
#: and recording that it went take. Only a worker dying meanwhile makes anyone wait it out.
SENDING_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class DrawnAttachment:
    """An attachment made by the mail worker when the message is sent, from a short argument.

    A QR code or a calendar file takes milliseconds to make that a registration (holding a
    web worker, in a burst) should not spend; the outbox keeps only what to draw, and how."""

    filename: str
    content_type: str
    #: The name an area registered its drawing function under (``attachment_drawer``).
    drawer: str
    argument: str

    @classmethod
    def qr_code(cls, filename: str, text: str) -> DrawnAttachment:
        return cls(filename, "image/png", "qr-code", text)


class _ByName(Generic[Made]):
    """Functions the mail worker calls by the name the outbox stored: argument → what they
    make, or None when what it was made from is gone. Areas register theirs (``register``)."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[[str], Made | None]] = {}

    def register(
        self, name: str
    ) -> Callable[[Callable[[str], Made | None]], Callable[[str], Made | None]]:
        def register(function: Callable[[str], Made | None]) -> Callable[[str], Made | None]:
            self._functions[name] = function
            return function

        return register

    def __getitem__(self, name: str) -> Callable[[str], Made | None]:
        return self._functions[name]


#: How attachments are drawn: argument → content.
_DRAWERS: _ByName[bytes] = _ByName()
#: Register how the mail worker draws attachments named ``name``.
attachment_drawer = _DRAWERS.register


@attachment_drawer("qr-code")
def qr_code_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


MailAttachment = Attachment | DrawnAttachment


@dataclass(frozen=True)
class WrittenWhenSent:
    """A message the mail worker writes when it sends it, from what ``argument`` names.

    Rendering a message takes a registration (holding the event's lock, in a burst) about
    as long as the rest of its work under the lock; the outbox keeps the template and what
    to fill it with, and the message tells of its subject as it is when it goes out."""

    #: The name an area registered its context function under (``mail_writer``).
    writer: str
    argument: str


#: How messages written when sent find their template's context: argument → context.
_WRITERS: _ByName[dict[str, Any]] = _ByName()
#: Register how the mail worker finds the context of messages written from ``name``.
mail_writer = _WRITERS.register


def _stored(attachment: MailAttachment) -> dict[str, str]:
    if isinstance(attachment, DrawnAttachment):
        return {
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "drawer": attachment.drawer,
            "argument": attachment.argument,
        }
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "content_b64": base64.b64encode(attachment.content).decode("ascii"),
    }


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for mail, built from PORTAL_BASE_URL (no request needed)."""
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    scheme, _, rest = base.partition("://")
    host, _, script = rest.partition("/")
    adapter = current_app.url_map.bind(
        host, script_name="/" + script if script else "/", url_scheme=scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def _render(template: str, locale: str | None, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of ``templates/email/<template>.txt`` in ``locale``."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        rendered = render_template(f"email/{template}.txt", **context)
    subject, _, body = rendered.strip().partition("\n")
    return subject.removeprefix("Subject:").strip(), body.strip() + "\n"


def queue_mail(
    *,
    to: str,
    template: str,
    locale: str | None,
    person_id: int | None = None,
    attachments: tuple[MailAttachment, ...] = (),
    written_when_sent: WrittenWhenSent | None = None,
    **context: Any,
) -> OutboxMessage:
    """Queue ``templates/email/<template>.txt`` in the recipient's language: rendered now
    from ``context``, or by the mail worker from ``written_when_sent``.

    Adds the message to the current transaction without committing: it goes out only if
    the change it reports commits (rule 8).
    """
    subject = body = ""
    if written_when_sent is None:
        subject, body = _render(template, locale, context)
    message = OutboxMessage(
        **_queued(
            to=to,
            template=template,
            locale=locale,
            person_id=person_id,
            attachments=attachments,
            written_when_sent=written_when_sent,
            subject=subject,
            body=body,
        )
    )
    db.session.add(message)
    return message


def _queued(
    *,
    to: str,
    template: str,
    locale: str | None,
    person_id: int | None,
    attachments: tuple[MailAttachment, ...],
    written_when_sent: WrittenWhenSent | None,
    subject: str = "",
    body: str = "",
) -> dict[str, Any]:
    """The columns of a queued message (the others take their defaults)."""
    return {
        "person_id": person_id,
        "to_address": to,
        "subject": subject,
        "body_text": body,
        "locale": locale,
        "written_from": (
            {"writer": written_when_sent.writer, "argument": written_when_sent.argument}
            if written_when_sent
            else None
        ),
        "kind": template,
        "attachments": [_stored(a) for a in attachments],
    }


class Recipient(Protocol):
    """What mail needs of a person (``portal.accounts.models.Person`` is one)."""

    id: int
    email: str
    preferred_locale: str | None


def mail_person(
    person: Recipient,
    template: str,
    *,
    to: str | None = None,
    locale: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Queue ``template`` for ``person``: to their address, in their language (``locale`` when
    they have none yet), with ``person`` in the template's context. ``to`` sends it to another
    address of theirs (a new one being confirmed). Same transaction rules as ``queue_mail``.
    """
    return queue_mail(
        to=to or person.email,
        template=template,
        locale=person.preferred_locale or locale,
        person_id=person.id,
        person=person,
        **context,
    )


def mail_person_when_sent(
    person: Recipient,
    template: str,
    written_when_sent: WrittenWhenSent,
    *,
    attachments: tuple[MailAttachment, ...] = (),
) -> None:
    """``mail_person`` for a message the mail worker writes when it sends it, queued as a row
    rather than as an object: nothing in the request reads it back, and flushing one object
    costs a request more than the statement itself (a registration, in a burst). Same
    transaction rules as ``queue_mail``: the statement runs in the current transaction."""
    db.session.execute(
        _QUEUE_ROW,
        _queued(
            to=person.email,
            template=template,
            locale=person.preferred_locale,
            person_id=person.id,
            attachments=attachments,
            written_when_sent=written_when_sent,
        ),
    )


def mailed_when_sent_for_each(
    rows: CTE,
    *,
    person_id: ColumnElement[Any],
    writer: str,
    argument: ColumnElement[Any],
    chosen: ColumnElement[bool],
) -> Insert:
    """``mail_person_when_sent`` for each row of ``rows``, the ``WITH … RETURNING`` of the
    statement this INSERT joins (PostgreSQL writes both in one statement: a registration does
    not hold its event's lock over one more round trip). Which template and attachments a row
    gets is chosen in the statement: those of ``mail_if`` where ``chosen`` holds for the row,
    those of ``mail_else`` otherwise (``when_sent_parameters``)."""
    columns = OutboxMessage.__table__.c

    def given(name: str, column: str) -> BindParameter[Any]:
        return bindparam(name, type_=columns[column].type)

    def constant(value: object, column: str) -> ColumnElement[Any]:
        return literal(value, type_=columns[column].type)

    # Every column given: the table's defaults are the ORM's, which a WITH does not apply.
    written: dict[str, ColumnElement[Any]] = {
        "person_id": person_id,
        "to_address": given("mail_to", "to_address"),
        "subject": constant("", "subject"),
        "body_text": constant("", "body_text"),
        "locale": given("mail_locale", "locale"),
        "written_from": func.json_build_object(
            "writer", writer, "argument", cast(argument, String)
        ),
        "kind": case(
            (chosen, given("mail_if_kind", "kind")), else_=given("mail_else_kind", "kind")
        ),
        "attachments": case(
            (chosen, given("mail_if_attachments", "attachments")),
            else_=given("mail_else_attachments", "attachments"),
        ),
        "next_attempt_at": given("mail_at", "next_attempt_at"),
        "created_at": given("mail_at", "created_at"),
    }
    # The rest from the model's own defaults (status, attempts, …), not restated here.
    written |= {
        column.name: constant(column.default.arg, column.name)
        for column in columns
        if column.name not in written and column.default is not None and column.default.is_scalar
    }
    return insert(OutboxMessage.__table__).from_select(
        list(written), select(*written.values()).select_from(rows), include_defaults=False
    )


#: A message as ``mailed_when_sent_for_each`` chooses it: its template and attachments.
ChosenMail = tuple[str, tuple[MailAttachment, ...]]


def when_sent_parameters(
    person: Recipient, *, mail_if: ChosenMail, mail_else: ChosenMail
) -> dict[str, Any]:
    """The parameters of a statement holding ``mailed_when_sent_for_each``."""
    return {
        "mail_to": person.email,
        "mail_locale": person.preferred_locale,
        "mail_at": utcnow(),
        "mail_if_kind": mail_if[0],
        "mail_if_attachments": [_stored(a) for a in mail_if[1]],
        "mail_else_kind": mail_else[0],
        "mail_else_attachments": [_stored(a) for a in mail_else[1]],
    }


#: Through the session, so that what watches its writes (``portal.versions``) sees it.
#: Inline: nobody asks for the new row's id, and fetching it back (RETURNING) was about a
#: quarter of what queuing the row cost the worker.
_QUEUE_ROW = insert(OutboxMessage.__table__).inline()


def write_message(message: OutboxMessage) -> bool:
    """Fill in the subject and body of a message written when sent (no change for one
    written when queued). False when what it was to tell of is gone."""
    if message.written_from is None or message.body_text:
        return True
    context = _WRITERS[message.written_from["writer"]](message.written_from["argument"])
    if context is None:
        return False
    message.subject, message.body_text = _render(message.kind, message.locale, context)
    return True


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain="portal.link-j.org")
    email.set_content(message.body_text)
    for attachment in message.attachments:
        maintype, _, subtype = attachment["content_type"].partition("/")
        content = _content(attachment)
        if content is None:
            continue
        email.add_attachment(
            content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return email


def _content(attachment: dict[str, str]) -> bytes | None:
    if "drawer" in attachment:
        return _DRAWERS[attachment["drawer"]](attachment["argument"])
    if "qr_text" in attachment:  # queued before drawers had names
        return qr_code_png(attachment["qr_text"])
    return base64.b64decode(attachment["content_b64"])


Transport = Callable[[EmailMessage], None]


def smtp_transport() -> Transport:
    config = current_app.config

    def send(email: EmailMessage) -> None:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(email)

    return send


def console_transport(echo: Callable[[str], None]) -> Transport:
    def send(email: EmailMessage) -> None:
        body = email.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        echo(f"--- mail to {email['To']}: {email['Subject']}\n{text}---")

    return send


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _give_up(message_id: int, reason: str) -> None:
    """Mark a message that cannot be written as failed, for staff to see; never sent."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED.value)
        .values(status=OutboxStatus.FAILED.value, last_error=reason[:2000])
    )
    db.session.commit()


def _record(message_id: int, values: dict[str, Any], wait: Callable[[float], None]) -> None:
    """Record what became of a message that was handed to the mail server.

    Retried with backoff until the database takes it: nothing else may be sent before, or
    a message the server accepted could be sent again."""
    delay = 0.5
    while True:
        try:
            db.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    # Sent by another worker after the lease ended: that one recorded it.
                    OutboxMessage.status == OutboxStatus.QUEUED.value,
                )
                .values(**values)
            )
            db.session.commit()
            return
        except DATABASE_UNAVAILABLE as error:
            db.session.rollback()
            current_app.logger.warning(
                "outbox: message %s was handed to the mail server but could not be recorded "
                "(%s); trying again in %g s",
                message_id,
                str(error).splitlines()[0],
                delay,
            )
            wait(delay)
            delay = min(delay * 2, 60)


def deliver_due(
    transport: Transport,
    *,
    now: datetime | None = None,
    limit: int = 100,
    wait: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send queued messages that are due, one at a time.

    Each message is claimed with ``FOR UPDATE SKIP LOCKED`` (several workers on PostgreSQL
    never take the same one), written, and leased: its next attempt is moved SENDING_LEASE
    ahead, committed before it is sent, so no other worker takes it while it is on its way.
    Then it is sent, and what became of it recorded. A failure is retried with exponential
    backoff (1, 2, 4… minutes, at most an hour) and given up after MAX_ATTEMPTS.

    At least once, at most one duplicate per crash: if the database is lost after the mail
    server accepted a message, recording it is retried (``wait`` between tries) until the
    database answers, before anything else is sent, so this process never sends a message
    twice. Only a worker that dies in that window leaves its one message to be sent again,
    when the lease ends. A database error before the send raises (nothing was sent).
    """
    report = DeliveryReport()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    for _ in range(limit):
        moment = now or utcnow()
        message = db.session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.QUEUED.value,
                OutboxMessage.next_attempt_at <= moment,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            # The claim's read began a transaction: end it, so that a worker waiting for the
            # next poll holds neither a transaction nor a connection (which a database
            # restart would kill under it).
            db.session.rollback()
            break
        message_id, attempts = message.id, message.attempts + 1
        try:
            written = write_message(message)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as error:  # noqa: BLE001 - one message must not hold up the others
            db.session.rollback()
            current_app.logger.exception("outbox: message %s could not be written", message_id)
            _give_up(message_id, f"{type(error).__name__}: {error}")
            report.failed += 1
            continue
        if not written:
            db.session.rollback()
            _give_up(message_id, "What this message was to tell of no longer exists.")
            report.failed += 1
            continue
        email = build_email(message, sender)
        message.next_attempt_at = moment + SENDING_LEASE
        db.session.commit()  # the lease, and what a message written now says
        try:
            transport(email)
        except (OSError, smtplib.SMTPException) as error:
            outcome: dict[str, Any] = {
                "attempts": attempts,
                "last_error": f"{type(error).__name__}: {error}"[:2000],
            }
            if attempts >= MAX_ATTEMPTS:
                outcome["status"] = OutboxStatus.FAILED.value
                report.failed += 1
            else:
                delay = min(2 ** (attempts - 1), 60)
                outcome["next_attempt_at"] = moment + timedelta(minutes=delay)
                report.retried += 1
        else:
            outcome = {"status": OutboxStatus.SENT.value, "sent_at": moment, "attempts": attempts}
            report.sent += 1
        _record(message_id, outcome, wait)
    return report
