"""Forms of the event management pages.

Validation here is about shape (a number is a number, a time is a time); the rules (an end
after the start, capacity not below the seats held…) are ``setup.save_event``'s. The editor's
form becomes the service's ``EventData`` in ``editor``.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from portal.events.labels import AUDIENCE_LABELS, QUESTION_KIND_LABELS
from portal.events.models import Audience, QuestionKind, RegistrationStatus
from portal.events.setup import SUPPORTED_CURRENCIES
from portal.forms import IntegerField
from portal.language import lazy_gettext as _l
from portal.money import parse_amount

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
    ticket_types = FieldList(FormField(TicketTypeRow), _l("Ticket types"), max_entries=100)
    questions = FieldList(FormField(QuestionRow), _l("Questions to registrants"), max_entries=100)
    sessions = FieldList(
        FormField(SessionRow), _l("Program (for multi-session events)"), max_entries=100
    )

    def validate_online_url(self, field: URLField) -> None:
        # The link becomes an href on the attendees' pages: web addresses only.
        if field.data and not re.match(r"^https?://[^\s]+$", field.data.strip(), re.IGNORECASE):
            raise ValidationError(_l("Enter a web address starting with https://."))

    def validate_timezone(self, field: SelectField) -> None:
        try:
            ZoneInfo(field.data or "")
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a long key
            raise ValidationError(_l("Choose a time zone from the list.")) from None


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
