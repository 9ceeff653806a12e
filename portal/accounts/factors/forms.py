"""Forms of the second-factor pages (shape only; the checks are in the services)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from portal.language import lazy_gettext as _l


class AppCodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField(_l("Recovery code"), validators=[DataRequired(), Length(max=40)])


class PasskeyAnswerForm(FlaskForm):
    #: Filled in by static/js/passkeys.js with the browser's answer (JSON).
    credential = HiddenField(validators=[Length(max=20_000)])


class NewPasskeyForm(PasskeyAnswerForm):
    name = StringField(
        _l("Name of this passkey"),
        default=_l("My passkey"),
        validators=[DataRequired(), Length(max=100)],
    )
