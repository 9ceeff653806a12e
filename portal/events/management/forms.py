"""Forms of the admin event pages, and the conversion of the editor's form into ``EventData``.

Validation here is about shape (a number is a number, a time is a time); the rules (an end
after the start, capacity not below the seats held…) are ``services.save_event``'s. Times are
typed on the event's own clock and converted to UTC here (rule 9); prices are typed in the
currency's major unit and converted to integer minor units with ``Decimal`` (rule 5).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal import inputs
from portal.events.models import (
    Audience,
    Event,
    EventKind,
    EventLanguage,
    QuestionKind,
    RegistrationStatus,
    Visibility,
)
from portal.events.services import (
    STANDARD_TAX_RATE,
    SUPPORTED_CURRENCIES,
    EventData,
    QuestionData,
    SessionData,
    TicketTypeData,
)
from portal.forms import IntegerField
from portal.money import amount_text, parse_amount

#: Zones offered for an event; an event saved in another zone keeps it as an extra choice.
TIMEZONES = (
    "Asia/Tokyo",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Singapore",
    "UTC",
)
#: What ``<input type="datetime-local">`` sends (with or without seconds).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
#: Empty rows the editor adds after the existing ones.
EXTRA_TICKET_ROWS = 3
EXTRA_QUESTION_ROWS = 2
EXTRA_SESSION_ROWS = 2

VISIBILITY_LABELS = {
    Visibility.PUBLIC: _l("Public: anyone"),
    Visibility.NETWORK: _l("Members of LINK-J and of partners"),
    Visibility.LINKJ: _l("LINK-J members only"),
}
AUDIENCE_LABELS = {
    Audience.LINKJ_MEMBER: _l("LINK-J member"),
    Audience.PARTNER_MEMBER: _l("Partner member (under an MOU)"),
    Audience.NON_MEMBER: _l("Non-member"),
    Audience.STUDENT: _l("Student"),
}
QUESTION_KIND_LABELS = {
    QuestionKind.TEXT: _l("Text"),
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "cancelled": _l("Cancelled"),
}
#: Whom the "mail registrants" form can write to: a choice and the states it covers.
MAIL_AUDIENCES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "selected": (_l("The registrants I selected in the table"), ()),
    "registered": (
        _l("Everyone holding a seat"),
        (
            RegistrationStatus.CONFIRMED.value,
            RegistrationStatus.CHECKED_IN.value,
            RegistrationStatus.AWAITING_PAYMENT.value,
        ),
    ),
    "confirmed": (
        _l("Confirmed and checked in"),
        (RegistrationStatus.CONFIRMED.value, RegistrationStatus.CHECKED_IN.value),
    ),
    "awaiting_payment": (
        _l("Seats held, awaiting payment"),
        (RegistrationStatus.AWAITING_PAYMENT.value,),
    ),
    "waitlisted": (_l("On the waitlist"), (RegistrationStatus.WAITLISTED.value,)),
    "pending_approval": (_l("Awaiting approval"), (RegistrationStatus.PENDING_APPROVAL.value,)),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (rendered by hand in a fieldset with a legend)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def to_utc(local: datetime | None, zone: str) -> datetime | None:
    """A wall-clock time typed for ``zone`` as an aware UTC datetime."""
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def to_local(moment: datetime | None, zone: str) -> datetime | None:
    """A stored UTC time as the naive wall-clock time the editor shows for ``zone``."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)


def parse_options(text: str) -> list[dict[str, str]]:
    """One answer per line, ``value|English|日本語``; the English and Japanese are optional."""
    options: list[dict[str, str]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        value = parts[0]
        if not value:
            raise ValueError("empty value")
        options.append(
            {
                "value": value,
                "label_en": parts[1] if len(parts) > 1 and parts[1] else value,
                "label_ja": parts[2] if len(parts) > 2 else "",
            }
        )
    if len({o["value"] for o in options}) != len(options):
        raise ValueError("duplicate value")
    return options


def format_options(options: list[dict[str, str]]) -> str:
    return "\n".join(
        "|".join([o["value"], o.get("label_en", ""), o.get("label_ja", "")]).rstrip("|")
        for o in options
    )


def suggest_slug(title: str, starts_at: datetime | None) -> str:
    """A web address from the English title and the month: ``kobe-seminar-2026-11``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    month = starts_at.strftime("%Y-%m") if starts_at else ""
    return "-".join(part for part in (words or "event", month) if part)


def _datetime(label: Any, *, required: bool = False, hint: Any = None) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=DATETIME_FORMATS,
        description=hint or "",
        validators=[InputRequired(message=_l("Enter a date and time."))]
        if required
        else [Optional()],
    )


# --- rows of the editor (plain Forms: the editor's own CSRF token covers them) ---------------


class TicketTypeRow(Form):
    id = HiddenField()
    audience = SelectField(
        _l("Audience"),
        choices=[SelectChoice(a.value, label) for a, label in AUDIENCE_LABELS.items()],
        default=Audience.NON_MEMBER.value,
    )
    agreement = SelectField(_l("MOU (partner tickets)"), coerce=str, validate_choice=False)
    name_en = StringField(_l("Name in English"), validators=[Length(max=120)])
    name_ja = StringField(_l("Name in Japanese"), validators=[Length(max=120)])
    price = StringField(_l("Price"), default="0", validators=[Length(max=20)])
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES],
        default="JPY",
    )
    tax_rate = SelectField(
        _l("Japanese consumption tax included"),
        choices=[
            SelectChoice("0", _l("None (not taxable)")),
            SelectChoice("10", _l("10% (standard)")),
            SelectChoice("8", _l("8% (reduced)")),
        ],
        default="0",
    )
    capacity = IntegerField(
        _l("Seats of this ticket (optional)"),
        validators=[Optional(), NumberRange(min=1, message=_l("Enter 1 or more, or nothing."))],
    )
    active = BooleanField(_l("On sale"), default=True)

    @property
    def unused(self) -> bool:
        return not (self.name_en.data or "").strip() and not (self.name_ja.data or "").strip()

    def validate_price(self, field: StringField) -> None:
        if self.unused:
            return
        try:
            parse_amount(field.data or "", self.currency.data or "JPY")
        except ValueError:
            raise ValidationError(
                _l(
                    "Enter the price as a number in the currency's main unit, "
                    "such as 5000 for ¥5,000 or 25.50 for $25.50; 0 for free."
                )
            ) from None


class QuestionRow(Form):
    id = HiddenField()
    kind = SelectField(
        _l("Kind of answer"),
        choices=[SelectChoice(k.value, label) for k, label in QUESTION_KIND_LABELS.items()],
        default=QuestionKind.TEXT.value,
    )
    label_en = StringField(_l("Question in English"), validators=[Length(max=300)])
    label_ja = StringField(_l("Question in Japanese"), validators=[Length(max=300)])
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(
        _l("Answers to choose from"),
        description=_l(
            "One per line: value|English|日本語, for example veg|Vegetarian|ベジタリアン."
        ),
        validators=[Length(max=4000)],
    )

    @property
    def unused(self) -> bool:
        return not (self.label_en.data or "").strip() and not (self.label_ja.data or "").strip()

    def validate_options(self, field: TextAreaField) -> None:
        if self.unused or self.kind.data == QuestionKind.TEXT:
            return
        try:
            parse_options(field.data or "")
        except ValueError:
            raise ValidationError(
                _l("Write one answer per line as value|English|日本語, each value different.")
            ) from None


class SessionRow(Form):
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    title_ja = StringField(_l("Title in Japanese"), validators=[Length(max=200)])
    starts_at = _datetime(_l("Starts"))
    ends_at = _datetime(_l("Ends"))
    room = StringField(_l("Room"), validators=[Length(max=200)])

    @property
    def unused(self) -> bool:
        return (
            not (self.title_en.data or "").strip()
            and not (self.title_ja.data or "").strip()
            and self.starts_at.data is None
            and self.ends_at.data is None
        )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # Optional() stops a blank time's own checks, so the pair is checked here.
        if not self.unused and (self.starts_at.data is None or self.ends_at.data is None):
            self.starts_at.errors.append(
                _l("Give each part of the program a start and an end.")  # type: ignore[arg-type]
            )
            return False
        return valid


# --- the editor -------------------------------------------------------------------------------


class EventForm(FlaskForm):
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    title_ja = StringField(_l("Title in Japanese"), validators=[Length(max=200)])
    slug = StringField(
        _l("Web address"),
        description=_l(
            "Lower-case letters, digits and hyphens, as in /events/kobe-seminar-2026-11. "
            "Empty: made from the English title."
        ),
        validators=[Length(max=80)],
    )
    kind = SelectField(_l("Kind"))
    language = SelectField(_l("Language of the event"))
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=20000)])
    description_ja = TextAreaField(_l("Description in Japanese"), validators=[Length(max=20000)])
    host = SelectField(_l("Host"), coerce=int)
    cohosts = CheckboxesField(_l("Co-hosts"), coerce=int, validators=[Optional()])
    agreements = CheckboxesField(
        _l("MOUs the event runs under"),
        coerce=int,
        validators=[Optional()],
        description=_l(
            "Partner-member tickets are open to members of these MOUs' partners. "
            "None ticked: any partner whose MOU with LINK-J is in force."
        ),
    )
    venue_en = StringField(_l("Venue in English"), validators=[Length(max=300)])
    venue_ja = StringField(_l("Venue in Japanese"), validators=[Length(max=300)])
    online_url = URLField(
        _l("Online link (shown to confirmed attendees only)"),
        validators=[Optional(), Length(max=500)],
    )
    timezone = SelectField(
        _l("Time zone of the event"),
        description=_l("Every time below is on this clock."),
    )
    starts_at = _datetime(_l("Starts"), required=True)
    ends_at = _datetime(_l("Ends"), required=True)
    registration_opens_at = _datetime(
        _l("Registration opens (optional)"), hint=_l("Empty: as soon as the event is published.")
    )
    registration_closes_at = _datetime(
        _l("Registration closes (optional)"), hint=_l("Empty: when the event starts.")
    )
    cancellation_closes_at = _datetime(
        _l("Members may cancel until (optional)"), hint=_l("Empty: until the event starts.")
    )
    capacity = IntegerField(
        _l("Capacity (seats)"),
        default=100,
        validators=[
            InputRequired(message=_l("Enter the number of seats.")),
            NumberRange(min=1, message=_l("Enter 1 or more seats.")),
        ],
    )
    visibility = SelectField(_l("Who may see and register"))
    requires_approval = BooleanField(_l("Registrations need the organizers' approval"))
    reminder_hours_before = IntegerField(
        _l("Reminder mail, hours before the start"),
        default=24,
        validators=[
            InputRequired(message=_l("Enter a number of hours (0: no reminder).")),
            NumberRange(min=0, max=24 * 14, message=_l("Enter 0 to 336 hours (14 days).")),
        ],
    )
    # Rows beyond these are ignored: a forged form cannot make the page build thousands.
    ticket_types = FieldList(FormField(TicketTypeRow), max_entries=100)
    questions = FieldList(FormField(QuestionRow), max_entries=100)
    sessions = FieldList(FormField(SessionRow), max_entries=100)

    def validate_online_url(self, field: URLField) -> None:
        # The link becomes an href on the attendees' pages: web addresses only.
        if field.data and not re.match(r"^https?://[^\s]+$", field.data.strip(), re.IGNORECASE):
            raise ValidationError(_l("Enter a web address starting with https://."))

    def validate_timezone(self, field: SelectField) -> None:
        try:
            ZoneInfo(field.data or "")
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a long key
            raise ValidationError(_l("Choose a time zone from the list.")) from None


def event_form_initial(event: Event) -> dict[str, Any]:
    """The editor's values for an existing event, times on the event's clock."""
    zone = event.timezone
    return {
        "title_en": event.title_en,
        "title_ja": event.title_ja,
        "slug": event.slug,
        "kind": event.kind,
        "language": event.language,
        "description_en": event.description_en,
        "description_ja": event.description_ja,
        "host": event.host_id,
        "cohosts": [o.id for o in event.cohosts],
        "agreements": [a.id for a in event.agreements],
        "venue_en": event.venue_en,
        "venue_ja": event.venue_ja,
        "online_url": event.online_url or "",
        "timezone": zone,
        "starts_at": to_local(event.starts_at, zone),
        "ends_at": to_local(event.ends_at, zone),
        "registration_opens_at": to_local(event.registration_opens_at, zone),
        "registration_closes_at": to_local(event.registration_closes_at, zone),
        "cancellation_closes_at": to_local(event.cancellation_closes_at, zone),
        "capacity": event.capacity,
        "visibility": event.visibility,
        "requires_approval": event.requires_approval,
        "reminder_hours_before": event.reminder_hours_before,
        "ticket_types": [
            {
                "id": str(t.id),
                "audience": t.audience,
                "agreement": str(t.agreement_id or ""),
                "name_en": t.name_en,
                "name_ja": t.name_ja,
                "price": amount_text(t.price, t.currency),
                "currency": t.currency,
                "tax_rate": str(t.tax_rate),
                "capacity": t.capacity,
                "active": t.active,
            }
            for t in event.ticket_types
        ],
        "questions": [
            {
                "id": str(q.id),
                "kind": q.kind,
                "label_en": q.label_en,
                "label_ja": q.label_ja,
                "required": q.required,
                "options": format_options(q.options),
            }
            for q in event.questions
        ],
        "sessions": [
            {
                "title_en": s.title_en,
                "title_ja": s.title_ja,
                "starts_at": to_local(s.starts_at, zone),
                "ends_at": to_local(s.ends_at, zone),
                "room": s.room,
            }
            for s in event.sessions
        ],
    }


#: What a new event's first ticket rows suggest (the organizer edits or empties them).
NEW_EVENT_TICKETS = (
    (Audience.LINKJ_MEMBER, "LINK-J member", "LINK-J会員"),
    (Audience.PARTNER_MEMBER, "Partner member", "パートナー機関会員"),
    (Audience.NON_MEMBER, "General", "一般"),
)


def new_ticket_row(*, sold_by_hub: bool) -> dict[str, Any]:
    """An empty ticket row: in yen, and taxed at the standard rate when LINK-J sells it."""
    return {
        "price": "0",
        "currency": "JPY",
        "tax_rate": str(STANDARD_TAX_RATE if sold_by_hub else 0),
        "active": True,
    }


def new_event_initial(host_id: int | None, *, sold_by_hub: bool) -> dict[str, Any]:
    """A new event's editor; ``sold_by_hub``: LINK-J hosts it, so its yen tickets are taxed."""
    return {
        "kind": EventKind.SEMINAR.value,
        "language": EventLanguage.BOTH.value,
        "visibility": Visibility.PUBLIC.value,
        "timezone": "Asia/Tokyo",
        "host": host_id,
        "capacity": 100,
        "reminder_hours_before": 24,
        "ticket_types": [
            {
                **new_ticket_row(sold_by_hub=sold_by_hub),
                "audience": a.value,
                "name_en": en,
                "name_ja": ja,
            }
            for a, en, ja in NEW_EVENT_TICKETS
        ],
    }


def _optional_int(text: str | None) -> int | None:
    """The id a row carried back; None for a new row or anything that is not an id."""
    if not text or not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > inputs.MAX_INTEGER:
        return None
    return int(text)


def event_data(form: EventForm) -> EventData:
    """The validated editor as the service's input; empty rows are left out."""
    zone = form.timezone.data
    starts_at = to_utc(form.starts_at.data, zone)
    ends_at = to_utc(form.ends_at.data, zone)
    assert starts_at is not None and ends_at is not None  # InputRequired
    slug = (form.slug.data or "").strip() or suggest_slug(
        form.title_en.data or "", form.starts_at.data
    )
    tickets = [
        TicketTypeData(
            id=_optional_int(row.id.data),
            audience=row.audience.data,
            agreement_id=_optional_int(row.agreement.data)
            if row.audience.data == Audience.PARTNER_MEMBER
            else None,
            name_en=(row.name_en.data or "").strip(),
            name_ja=(row.name_ja.data or "").strip(),
            price=parse_amount(row.price.data or "", row.currency.data),
            currency=row.currency.data,
            tax_rate=int(row.tax_rate.data or 0),
            capacity=row.capacity.data,
            active=bool(row.active.data),
        )
        for row in (entry.form for entry in form.ticket_types)
        if not row.unused
    ]
    questions = [
        QuestionData(
            id=_optional_int(row.id.data),
            kind=row.kind.data,
            label_en=(row.label_en.data or "").strip(),
            label_ja=(row.label_ja.data or "").strip(),
            required=bool(row.required.data),
            options=[]
            if row.kind.data == QuestionKind.TEXT
            else parse_options(row.options.data or ""),
        )
        for row in (entry.form for entry in form.questions)
        if not row.unused
    ]
    sessions = []
    for row in (entry.form for entry in form.sessions):
        if row.unused:
            continue
        session_start = to_utc(row.starts_at.data, zone)
        session_end = to_utc(row.ends_at.data, zone)
        assert session_start is not None and session_end is not None  # SessionRow.validate
        sessions.append(
            SessionData(
                title_en=(row.title_en.data or "").strip(),
                title_ja=(row.title_ja.data or "").strip(),
                starts_at=session_start,
                ends_at=session_end,
                room=(row.room.data or "").strip(),
            )
        )
    return EventData(
        slug=slug,
        kind=form.kind.data,
        title_en=(form.title_en.data or "").strip(),
        title_ja=(form.title_ja.data or "").strip(),
        host_id=form.host.data,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=zone,
        description_en=form.description_en.data or "",
        description_ja=form.description_ja.data or "",
        language=form.language.data,
        venue_en=(form.venue_en.data or "").strip(),
        venue_ja=(form.venue_ja.data or "").strip(),
        online_url=(form.online_url.data or "").strip() or None,
        registration_opens_at=to_utc(form.registration_opens_at.data, zone),
        registration_closes_at=to_utc(form.registration_closes_at.data, zone),
        cancellation_closes_at=to_utc(form.cancellation_closes_at.data, zone),
        capacity=form.capacity.data,
        visibility=form.visibility.data,
        requires_approval=bool(form.requires_approval.data),
        reminder_hours_before=form.reminder_hours_before.data,
        cohost_ids=[i for i in (form.cohosts.data or []) if i != form.host.data],
        agreement_ids=list(form.agreements.data or []),
        ticket_types=tickets,
        questions=questions,
        sessions=sessions,
    )


# --- one-button and small forms ----------------------------------------------------------------


class CancelEventForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (every registrant will see it)"),
        validators=[
            DataRequired(message=_l("Give a reason; every registrant will see it.")),
            Length(max=1000),
        ],
    )


class DecisionReasonForm(FlaskForm):
    """Reject or cancel one registration: the reason goes to the person and the audit log."""

    reason = TextAreaField(
        _l("Reason (the person will see it)"),
        validators=[
            DataRequired(message=_l("Give a reason; the person will see it.")),
            Length(max=1000),
        ],
    )


class RegistrationFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=True)
    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])


class MailRegistrantsForm(FlaskForm):
    recipients = SelectField(
        _l("To"),
        choices=[SelectChoice(key, label) for key, (label, _states) in MAIL_AUDIENCES.items()],
        default="registered",
    )
    #: The table's row checkboxes (``form="mail-form"``); ids outside the event are ignored.
    registration_ids = SelectMultipleField(
        _l("Registrants"), coerce=inputs.integer, validate_choice=False, validators=[Optional()]
    )
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(message=_l("Write a subject.")), Length(max=200)],
    )
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(message=_l("Write a message.")), Length(max=10000)],
    )


class CheckInForm(FlaskForm):
    code = StringField(
        _l("Ticket code"),
        validators=[DataRequired(message=_l("Type or scan a ticket code.")), Length(max=200)],
    )
