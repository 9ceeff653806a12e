"""Forms of the payment pages (the staff pages' forms: ``management_forms``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.forms import Required
from portal.language import lazy_gettext as _l


class InvoiceRequestForm(FlaskForm):
    company = StringField(
        _l("Company or institution, and department (invoice addressee)"),
        validators=[Required(), Length(max=300)],
    )
    recipient_name = StringField(
        _l("Person to the attention of (optional)"), validators=[Optional(), Length(max=300)]
    )
