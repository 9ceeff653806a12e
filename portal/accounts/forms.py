"""Forms of the account pages. Validation here is about shape; rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, Length, Optional

from portal.accounts.models import MembershipKind
from portal.accounts.passwords import MAX_LENGTH
from portal.forms import Required, id_or_none
from portal.language import lazy_gettext as _l

KIND_CHOICES = [
    SelectChoice(MembershipKind.INDIVIDUAL.value, _l("Individual member")),
    SelectChoice(MembershipKind.CORPORATE.value, _l("Corporate member (through my company)")),
]


class MembershipFields:
    organization = SelectField(_l("Home organization"), coerce=id_or_none, validators=[Required()])
    membership_kind = RadioField(
        _l("Kind of membership"), choices=KIND_CHOICES, default=MembershipKind.INDIVIDUAL.value
    )
    member_number = StringField(
        _l("Member number (if your organization issued one)"),
        validators=[Optional(), Length(max=64)],
    )


class NameFields:
    """Who the person is: asked the same way at registration and in the profile."""

    family_name = StringField(_l("Family name"), validators=[Required(), Length(max=100)])
    given_name = StringField(_l("Given name"), validators=[Required(), Length(max=100)])
    family_name_kana = StringField(
        _l("Family name (furigana)"), validators=[Optional(), Length(max=100)]
    )
    given_name_kana = StringField(
        _l("Given name (furigana)"), validators=[Optional(), Length(max=100)]
    )
    romanized_name = StringField(
        _l("Name in Latin letters (e.g. Taro Yamada)"), validators=[Optional(), Length(max=200)]
    )
    affiliation = StringField(
        _l("Affiliation (company or institution)"), validators=[Optional(), Length(max=200)]
    )

    def names(self) -> dict[str, str]:
        """The name fields' values, by field name (empty text for an empty field)."""
        return {name: getattr(self, name).data or "" for name in NAME_FIELDS}


#: Derived from the class, so a field added there is carried everywhere the names go.
NAME_FIELDS = tuple(
    name for name, value in vars(NameFields).items() if hasattr(value, "field_class")
)


class RegistrationForm(NameFields, MembershipFields, FlaskForm):
    email = EmailField(_l("Email address"), validators=[Required(), Length(max=320)])
    password = PasswordField(
        _l("Password (at least 10 characters)"), validators=[Required(), Length(max=MAX_LENGTH)]
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[Required(), EqualTo("password", message=_l("The passwords differ."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[Required(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[Required(), Length(max=MAX_LENGTH)])
    remember = BooleanField(_l("Stay logged in on this device"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[Required(), Length(max=320)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[Required(), Length(max=MAX_LENGTH)],
    )
    password_again = PasswordField(
        _l("New password again"),
        validators=[Required(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[Required()])


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(_l("New email address"), validators=[Required(), Length(max=320)])
    current_password = PasswordField(_l("Current password"), validators=[Required()])


class ProfileForm(NameFields, FlaskForm):
    preferred_locale = SelectField(
        _l("Language of messages"),
        choices=[SelectChoice("en", "English"), SelectChoice("ja", "日本語")],
    )


class ClaimMembershipForm(MembershipFields, FlaskForm):
    pass


class DeleteAccountForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[Required()])
    understood = BooleanField(
        _l("I understand that my account and memberships are erased and cannot be restored."),
        validators=[Required()],
    )


class InviteColleagueForm(FlaskForm):
    email = EmailField(_l("Colleague's email address"), validators=[Required(), Length(max=320)])
