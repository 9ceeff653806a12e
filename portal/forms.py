"""Form pieces every area shares."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar, get_type_hints

from flask_wtf import FlaskForm
from wtforms import Field, fields
from wtforms.validators import DataRequired, StopValidation

from portal.language import gettext
from portal.language import lazy_gettext as _l

#: Every count and amount the portal stores fits in PostgreSQL's INTEGER with room to spare;
#: a person can read "9 digits" where "2147483647" would puzzle them.
LARGEST_NUMBER = 999_999_999
TOO_LARGE = _l("Enter a number of at most 9 digits.")

T = TypeVar("T")


#: What follows a field's name in its label: "(at least 10 characters)", （10文字以上）.
_LABEL_NOTE = re.compile(r"\s*[(（].*[)）]\s*$")
_CHOSEN = ("SelectField", "RadioField", "SelectMultipleField")


def missing_message(field: Field) -> str:
    """What a required field left empty says, named from its label: 「メールアドレスを入力して
    ください。」, "Enter the email address." rather than "This field is required."."""
    name = _LABEL_NOTE.sub("", str(field.label.text)) or str(field.label.text)
    if field.type == "BooleanField":
        return gettext("Tick “%(field)s”.", field=name)
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        name = name[0].lower() + name[1:]  # "Email address" reads "the email address"
    if field.type in _CHOSEN:
        return gettext("Choose the %(field)s.", field=name)
    return gettext("Enter the %(field)s.", field=name)


class Required(DataRequired):
    """``DataRequired`` whose message names the missing field (``missing_message``), in the
    viewer's language at the moment of the request; an explicit ``message`` still wins."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data and (not isinstance(field.data, str) or field.data.strip()):
            return
        field.errors[:] = []
        raise StopValidation(self.message or missing_message(field))


def id_or_none(value: Any) -> int | None:
    """A select's coerce for record ids whose first choice is empty ("choose one"): the empty
    choice is None, which ``Required`` then names, instead of "Invalid choice"."""
    if value in ("", None):
        return None
    return int(value)


class ConfirmForm(FlaskForm):
    """Only its CSRF token, for one-button actions (log out, confirm, accept, delete)."""


class IntegerField(fields.IntegerField):
    """WTForms' IntegerField, refusing numbers beyond what the database stores (PostgreSQL
    answers those with an error, SQLite's driver with an OverflowError)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > LARGEST_NUMBER:
            self.data = None
            raise ValueError(TOO_LARGE)


class DecimalField(fields.DecimalField):
    """WTForms' DecimalField for amounts, refusing what is not one: "NaN" and "Infinity" are
    decimals to Python (and a signalling NaN breaks NumberRange), and a number beyond what
    the database stores."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Enter the amount in figures."))
        if self.data is not None and abs(self.data) > LARGEST_NUMBER:
            self.data = None
            raise ValueError(TOO_LARGE)


def details_from(form: FlaskForm, details: type[T], **given: Any) -> T:
    """``details`` (the dataclass a service is told what was typed with) filled from the form's
    fields of the same names, so no list of fields is kept by hand; a text field missing from
    the request is empty text. ``given`` sets what the form does not hold."""
    types = get_type_hints(details)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(details):  # type: ignore[arg-type]
        if field.name in given or field.name not in form:
            continue
        value = form[field.name].data
        values[field.name] = "" if value is None and types[field.name] is str else value
    return details(**values, **given)
