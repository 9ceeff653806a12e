"""Form pieces every area shares."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, get_type_hints

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import fields

#: Every count and amount the portal stores fits in PostgreSQL's INTEGER with room to spare;
#: a person can read "9 digits" where "2147483647" would puzzle them.
LARGEST_NUMBER = 999_999_999
TOO_LARGE = _l("Enter a number of at most 9 digits.")

T = TypeVar("T")


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
