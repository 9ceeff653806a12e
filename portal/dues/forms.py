"""Forms of the member's dues pages: applying, choosing an orientation, changing plan."""

from __future__ import annotations

from dataclasses import fields

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.dues.applying import ApplicationDetails
from portal.language import lazy_gettext as _l


class ApplicationForm(FlaskForm):
    company_name = StringField(_l("Company name"), validators=[Length(max=200)])
    company_name_kana = StringField(_l("Company name in katakana"), validators=[Length(max=200)])
    corporate_number = StringField(
        _l("Corporate number (法人番号, 13 digits)"), validators=[Length(max=20)]
    )
    postal_code = StringField(_l("Postal code"), validators=[Length(max=8)])
    address = TextAreaField(_l("Address"), validators=[Length(max=500)])
    representative_name = StringField(_l("Representative"), validators=[Length(max=200)])
    representative_title = StringField(_l("Representative's title"), validators=[Length(max=200)])
    billing_name = StringField(_l("Billing contact"), validators=[Length(max=200)])
    billing_email = StringField(_l("Billing contact's email"), validators=[Length(max=320)])
    billing_department = StringField(_l("Billing department"), validators=[Length(max=200)])
    interests = TextAreaField(_l("Fields of interest"), validators=[Length(max=2000)])
    expectations = TextAreaField(
        _l("What do you hope for from LINK-J?"), validators=[Length(max=2000)]
    )
    referral = StringField(_l("How did you hear of LINK-J?"), validators=[Length(max=200)])
    agree = BooleanField(_l("I agree to LINK-J's objectives and membership terms above"))

    def details(self) -> ApplicationDetails:
        """The typed details, one field per ``ApplicationDetails`` field."""
        return ApplicationDetails(
            **{f.name: getattr(self, f.name).data or "" for f in fields(ApplicationDetails)}
        )


class SlotChoiceForm(FlaskForm):
    slot = RadioField(_l("Orientation time"), coerce=int, validate_choice=False)


class PlanChangeForm(FlaskForm):
    plan = RadioField(_l("New plan"), coerce=int, validate_choice=False)
    at_once = BooleanField(_l("At once, paying the difference for the rest of this fiscal year"))


class ResignForm(FlaskForm):
    confirm = StringField(_l("Type RESIGN to confirm"), validators=[Optional(), Length(max=20)])
