"""Forms of the payment pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class InvoiceRequestForm(FlaskForm):
    company = StringField(
        _l("Company or institution, and department (invoice addressee)"),
        validators=[DataRequired(), Length(max=300)],
    )
    recipient_name = StringField(
        _l("Person to the attention of (optional)"), validators=[Optional(), Length(max=300)]
    )


class BankTransferForm(FlaskForm):
    paid_on = DateField(_l("Date of the transfer"), validators=[DataRequired()])
    amount = DecimalField(
        _l("Amount transferred"), places=None, validators=[DataRequired(), NumberRange(min=0)]
    )
    payer_kana = StringField(
        _l("Payer's name on the bank statement (kana)"),
        validators=[DataRequired(), Length(max=200)],
    )


class RefundForm(FlaskForm):
    amount = DecimalField(
        _l("Amount to refund"), places=None, validators=[DataRequired(), NumberRange(min=0)]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
