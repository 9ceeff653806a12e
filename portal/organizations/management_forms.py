"""Forms of the organization and MOU management pages. Shape only: the rules live in the
services (``portal.organizations.services``)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms import IntegerField
from portal.language import lazy_gettext as _l


def _required(message: Any) -> DataRequired:
    return DataRequired(message=message)


class OrganizationForm(FlaskForm):
    slug = StringField(
        _l("URL name"), validators=[_required(_l("Enter a URL name.")), Length(max=40)]
    )
    short_name = StringField(
        _l("Short name"), validators=[_required(_l("Enter a short name.")), Length(max=40)]
    )
    name_en = StringField(_l("Name in English"), validators=[Length(max=200)])
    name_ja = StringField(_l("Name in Japanese"), validators=[Length(max=200)])
    country = StringField(
        _l("Country (ISO code)"),
        validators=[_required(_l("Enter the country code.")), Length(max=2)],
    )
    city_en = StringField(_l("City in English"), validators=[Length(max=100)])
    city_ja = StringField(_l("City in Japanese"), validators=[Length(max=100)])
    website = StringField(_l("Website (optional)"), validators=[Length(max=300)])
    timezone = StringField(
        _l("Time zone"),
        default="Asia/Tokyo",
        validators=[_required(_l("Enter the time zone.")), Length(max=64)],
    )
    default_currency = StringField(
        _l("Currency (ISO code)"),
        default="JPY",
        validators=[_required(_l("Enter the currency code.")), Length(max=3)],
    )
    membership_year_end_month = IntegerField(
        _l("Month in which its membership year ends"),
        default=3,
        validators=[InputRequired(message=_l("Enter a month from 1 to 12."))],
    )
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=5000)])
    description_ja = TextAreaField(_l("Description in Japanese"), validators=[Length(max=5000)])


class AgreementForm(FlaskForm):
    partner = SelectField(_l("Partner"), coerce=int)
    signed_on = DateField(
        _l("Signed on"), validators=[_required(_l("Enter the day the MOU was signed."))]
    )
    status = SelectField(_l("Status"))
    valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()])
    document_url = StringField(
        _l("Link to the signed document (optional)"), validators=[Length(max=500)]
    )
    summary_en = TextAreaField(_l("Summary in English"), validators=[Length(max=5000)])
    summary_ja = TextAreaField(_l("Summary in Japanese"), validators=[Length(max=5000)])
