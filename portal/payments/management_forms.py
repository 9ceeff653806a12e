"""Forms of the staff pages for money: refunds and bank transfers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange

from portal.errors import InvalidInput
from portal.forms import DecimalField, Required
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.money import to_minor


class _AmountForm(FlaskForm):
    """A form with an ``amount`` typed in the major unit of a currency the page knows."""

    amount: DecimalField

    def amount_in_minor_units(self, currency: str) -> int:
        """The typed amount as the integer of minor units the services take (rule 5);
        InvalidInput beside the field when it has more decimals than ``currency`` has."""
        try:
            return to_minor(self.amount.data, currency)
        except ValueError:
            raise InvalidInput(
                _("Enter the amount with the currency's decimals, e.g. 5000 or 25.50."),
                field="amount",
            ) from None


class BankTransferForm(_AmountForm):
    paid_on = DateField(_l("Date of the transfer"), validators=[Required()])
    amount = DecimalField(
        _l("Amount transferred"), places=None, validators=[Required(), NumberRange(min=0)]
    )
    payer_kana = StringField(
        _l("Payer's name on the bank statement (kana)"),
        validators=[Required(), Length(max=200)],
    )


class RefundForm(_AmountForm):
    amount = DecimalField(
        _l("Amount to refund"), places=None, validators=[Required(), NumberRange(min=0)]
    )
    reason = TextAreaField(_l("Reason"), validators=[Required(), Length(max=1000)])
