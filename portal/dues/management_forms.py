"""Forms of the staff's dues pages: plans, the application queue's steps."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.dues.labels import MID_YEAR_RULE, PLAN_KIND
from portal.dues.plans import PlanTerms
from portal.language import lazy_gettext as _l
from portal.money import parse_amount

MODES = [SelectChoice("in_person", _l("In person")), SelectChoice("online", _l("Online"))]


class PlanForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=8)])
    name_ja = StringField(_l("Name (Japanese)"), validators=[Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, v) for k, v in PLAN_KIND.items()])
    initial_fee = StringField(_l("Initial fee (yen, tax included)"), validators=[DataRequired()])
    annual_dues = StringField(_l("Annual dues (yen, tax included)"), validators=[DataRequired()])
    seats = IntegerField(_l("Seats (corporate plans)"), validators=[Optional(), NumberRange(1)])
    member_rates = BooleanField(_l("Opens member rates"), default=True)
    benefits = BooleanField(_l("Opens benefits"), default=True)
    room_booking = BooleanField(_l("Opens conference-room booking"))
    open_for_applications = BooleanField(_l("Open for applications"), default=True)
    mid_year_rule = SelectField(
        _l("Joining mid-year"), choices=[SelectChoice(k.value, v) for k, v in MID_YEAR_RULE.items()]
    )
    grace_days = IntegerField(
        _l("Grace period after 31 March (days)"), default=30, validators=[NumberRange(0, 365)]
    )
    description_ja = TextAreaField(_l("Description (Japanese)"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Description (English)"), validators=[Length(max=2000)])

    def validate_initial_fee(self, field: StringField) -> None:
        self._amount(field)

    def validate_annual_dues(self, field: StringField) -> None:
        self._amount(field)

    @staticmethod
    def _amount(field: StringField) -> int:
        try:
            return parse_amount(field.data or "", "JPY")
        except ValueError:
            raise ValidationError(_l("Enter an amount in yen.")) from None

    def terms(self) -> PlanTerms:
        return PlanTerms(
            code=self.code.data or "",
            name_ja=self.name_ja.data or "",
            name_en=self.name_en.data or "",
            kind=self.kind.data or "",
            initial_fee=self._amount(self.initial_fee),
            annual_dues=self._amount(self.annual_dues),
            seats=self.seats.data,
            member_rates=bool(self.member_rates.data),
            benefits=bool(self.benefits.data),
            room_booking=bool(self.room_booking.data),
            open_for_applications=bool(self.open_for_applications.data),
            mid_year_rule=self.mid_year_rule.data or "",
            grace_days=self.grace_days.data or 0,
            description_ja=self.description_ja.data or "",
            description_en=self.description_en.data or "",
        )


class MessageForm(FlaskForm):
    message = TextAreaField(_l("Message to the applicant"), validators=[Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the applicant sees it)"), validators=[Length(max=2000)])


class SlotsForm(FlaskForm):
    """Up to three times, each "YYYY-MM-DD HH:MM" in Tokyo time, with the mode and place."""

    slot1 = StringField(_l("Time 1 (Tokyo, YYYY-MM-DD HH:MM)"), validators=[Length(max=16)])
    mode1 = SelectField(_l("How"), choices=MODES)
    place1 = StringField(_l("Room or meeting link"), validators=[Length(max=500)])
    slot2 = StringField(_l("Time 2 (Tokyo, YYYY-MM-DD HH:MM)"), validators=[Length(max=16)])
    mode2 = SelectField(_l("How"), choices=MODES)
    place2 = StringField(_l("Room or meeting link"), validators=[Length(max=500)])
