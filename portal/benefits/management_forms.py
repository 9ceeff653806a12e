"""Forms of the benefit management pages. Shape only: the rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import IntegerField
from portal.language import lazy_gettext as _l
from portal.organizations.models import LimitPeriod, Redemption

#: Ten thousand codes of twenty characters fit easily.
MAX_CODES_BYTES = 1024 * 1024

LIMIT_PERIOD_LABELS = {
    LimitPeriod.YEAR: _l("per calendar year"),
    LimitPeriod.QUARTER: _l("per calendar quarter"),
    LimitPeriod.MONTH: _l("per calendar month"),
    LimitPeriod.EVER: _l("in all (never renews)"),
}

REDEMPTION_LABELS = {
    Redemption.INSTRUCTIONS: _l("Instructions only"),
    Redemption.SHARED_CODE: _l("One code shown to every granted member"),
    Redemption.CODE_POOL: _l("A single-use code from a pool, one per granted claim"),
}


class ServiceForm(FlaskForm):
    provider = SelectField(_l("Provided by"), coerce=int)
    category = SelectField(_l("Category"))
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    title_ja = StringField(_l("Title in Japanese"), validators=[Length(max=200)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=5000)])
    description_ja = TextAreaField(_l("Description in Japanese"), validators=[Length(max=5000)])
    claimable = BooleanField(_l("Members can claim it"), default=True)
    requires_approval = BooleanField(_l("Each claim needs the provider's approval"))
    limit_per_member = IntegerField(
        _l("Claims allowed per member (empty: once in all)"), validators=[Optional()]
    )
    limit_period = SelectField(
        _l("Counted"),
        choices=[SelectChoice(p.value, label) for p, label in LIMIT_PERIOD_LABELS.items()],
        default=LimitPeriod.YEAR.value,
    )
    valid_from = DateField(_l("First day to claim (optional)"), validators=[Optional()])
    valid_until = DateField(_l("Last day to claim (optional)"), validators=[Optional()])
    redemption = SelectField(
        _l("How it is redeemed"),
        choices=[SelectChoice(r.value, label) for r, label in REDEMPTION_LABELS.items()],
        default=Redemption.INSTRUCTIONS.value,
    )
    redemption_instructions_en = TextAreaField(
        _l("Instructions in English, shown once granted"), validators=[Length(max=5000)]
    )
    redemption_instructions_ja = TextAreaField(
        _l("Instructions in Japanese, shown once granted"), validators=[Length(max=5000)]
    )
    shared_code = StringField(
        _l("Code shown to every granted member"), validators=[Length(max=200)]
    )


class CodeUploadForm(FlaskForm):
    codes = FileField(
        _l("Codes file (CSV)"),
        render_kw={"accept": ".csv,text/csv,text/plain"},
        validators=[
            FileRequired(message=_l("Choose a CSV file to upload.")),
            FileSize(max_size=MAX_CODES_BYTES, message=_l("The file is larger than 1 MB.")),
        ],
    )


class ApproveClaimForm(FlaskForm):
    note = TextAreaField(
        _l("Note to the member (optional)"), validators=[Optional(), Length(max=1000)]
    )


class RejectClaimForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the member will see it)"),
        validators=[
            DataRequired(message=_l("Give a reason; the member will see it.")),
            Length(max=1000),
        ],
    )


class FulfilClaimForm(FlaskForm):
    note = TextAreaField(
        _l("Note for the audit log (optional)"), validators=[Optional(), Length(max=1000)]
    )


class ReportFilterForm(FlaskForm):
    """The report's choices (GET: no CSRF token needed)."""

    class Meta:
        csrf = False

    period = SelectField(_l("Periods"), default="quarter")
    year = IntegerField(_l("Year"), validators=[Optional()])
    mou = SelectField(_l("MOU"), validators=[Optional()])
