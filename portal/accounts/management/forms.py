"""Forms of the membership management pages. Validation here is about shape; rules live in
the services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    DateField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
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
from portal.accounts.addresses import find_person_by_email
from portal.accounts.labels import ROLE_LABELS
from portal.accounts.models import Person
from portal.forms import IntegerField
from portal.language import lazy_gettext as _l

#: A roster of a few thousand members is well under this; Excel files saved as CSV too.
MAX_ROSTER_BYTES = 2 * 1024 * 1024


def _required(message: Any) -> DataRequired:
    return DataRequired(message=message)


class SearchForm(FlaskForm):
    """The search box of the queue and people pages (GET: no CSRF token needed)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])


class VerifyMembershipForm(FlaskForm):
    valid_until = DateField(
        _l("Valid until"), validators=[_required(_l("Enter the last day of validity."))]
    )
    note = TextAreaField(_l("Note for the audit log (optional)"), validators=[Length(max=1000)])


class RejectMembershipForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the person will see it)"),
        validators=[_required(_l("Give a reason; the person will see it.")), Length(max=1000)],
    )


class RevokeMembershipForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the person will see it)"),
        validators=[_required(_l("Give a reason; the person will see it.")), Length(max=1000)],
    )


class BulkVerifyForm(FlaskForm):
    #: Rendered by hand as one checkbox per queue row; unknown ids are the service's to ignore.
    membership_ids = SelectMultipleField(
        _l("Memberships"), coerce=inputs.integer, validate_choice=False, validators=[Optional()]
    )
    valid_until = DateField(
        _l("Valid until"), validators=[_required(_l("Enter the last day of validity."))]
    )


class RosterUploadForm(FlaskForm):
    roster = FileField(
        _l("Roster file (CSV)"),
        render_kw={"accept": ".csv,text/csv"},
        validators=[
            FileRequired(message=_l("Choose a CSV file to upload.")),
            FileSize(
                max_size=MAX_ROSTER_BYTES,
                message=_l("The file is larger than 2 MB. Split it or remove unused columns."),
            ),
        ],
    )


class DomainRuleForm(FlaskForm):
    domain = StringField(
        _l("Email domain"),
        validators=[_required(_l("Enter a domain such as example.co.jp.")), Length(max=253)],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=1000)])


class CompanyForm(FlaskForm):
    name = StringField(
        _l("Company name"),
        validators=[_required(_l("Enter the company's name.")), Length(max=200)],
    )
    email_domain = StringField(
        _l("Email domain of the company"),
        validators=[_required(_l("Enter a domain such as example.co.jp.")), Length(max=253)],
    )
    seat_count = IntegerField(
        _l("Seats"),
        default=5,
        validators=[
            InputRequired(message=_l("Enter the number of seats.")),
            NumberRange(min=1, max=10000, message=_l("Enter a number of seats from 1.")),
        ],
    )
    primary_contact_email = EmailField(
        _l("Primary contact's email address"),
        validators=[_required(_l("Enter the primary contact's email address.")), Length(max=320)],
    )
    valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()])

    #: The account named by ``primary_contact_email``, found while validating.
    primary_contact: Person | None = None

    def validate_primary_contact_email(self, field: EmailField) -> None:
        self.primary_contact = find_person_by_email(field.data or "")
        if self.primary_contact is None:
            raise ValidationError(
                _l(
                    "No account uses this address. "
                    "Ask the primary contact to register first, then try again."
                )
            )


class GrantRoleForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validators=[_required(_l("Choose a role."))],
    )
    organization = SelectField(_l("Organization (partner admins only)"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason (for the audit log)"),
        validators=[_required(_l("Give a reason for the audit log.")), Length(max=1000)],
    )


class RevokeRoleForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (for the audit log)"),
        validators=[_required(_l("Give a reason for the audit log.")), Length(max=1000)],
    )
