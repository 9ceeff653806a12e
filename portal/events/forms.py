"""Forms of the event pages. The registration form is built per event from its questions."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.events import payment_step
from portal.events.models import Event, QuestionKind
from portal.events.pricing import TicketOffer
from portal.forms import Required
from portal.fragments import BoundedMemo, by_value
from portal.i18n import current_language, localized
from portal.language import gettext
from portal.language import lazy_gettext as _l
from portal.money import format_money


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RegistrationFormBase(FlaskForm):
    ticket_type = RadioField(_l("Ticket"), coerce=int, validators=[Required()])

    def answers(self) -> dict[str, Any]:
        return {
            name.removeprefix("q_"): field.data
            for name, field in self._fields.items()
            if name.startswith("q_")
        }


def _option_label(option: dict[str, str]) -> str:
    primary = "label_ja" if current_language() == "ja" else "label_en"
    secondary = "label_en" if primary == "label_ja" else "label_ja"
    return option.get(primary) or option.get(secondary) or option["value"]


def registration_form_for(
    event: Event, offers: list[TicketOffer], *, shown: bool = True
) -> RegistrationFormBase:
    """A form with the ticket types open to this person and the event's questions.

    ``shown=False`` is for a handler that validates what was posted and never shows the form:
    the ticket types get no labels, and the form no fresh CSRF token (``CSRFProtect`` checked
    the posted one before the view, for every form of the portal)."""
    step = payment_step.current()
    methods = step.methods() if step is not None and any(o.price for o in offers) else []
    form = _form_class(event, methods)(**({} if shown else {"meta": {"csrf": False}}))
    form.ticket_type.choices = [
        SelectChoice(str(o.ticket_type.id), _ticket_label(o) if shown else "") for o in offers
    ]
    if offers and form.ticket_type.data is None:
        form.ticket_type.data = offers[0].ticket_type.id
    return form


def _ticket_label(offer: TicketOffer) -> str:
    price = format_money(offer.price, offer.ticket_type.currency) if offer.price else _l("Free")
    return f"{localized(offer.ticket_type, 'name')} — {price} ({offer.description})"


#: Form classes by what they are built from (the event's questions, the language, the ways to
#: pay): building one costs more than validating with it, and every press of Register needs
#: one. Bounded; a changed question is a new key.
_FORM_CLASSES: BoundedMemo[type[RegistrationFormBase]] = BoundedMemo(256)


def _form_class(event: Event, methods: list[tuple[str, str]]) -> type[RegistrationFormBase]:
    # Every column of every question (not a hand-kept list of them): a changed question is a
    # new key.
    key = (event.id, current_language(), tuple(methods), by_value(event, "questions")[1:])
    return _FORM_CLASSES.get_or_make(key, lambda: _build_form_class(event, methods))


def _build_form_class(event: Event, methods: list[tuple[str, str]]) -> type[RegistrationFormBase]:
    class RegistrationForm(RegistrationFormBase):
        pass

    for question in event.questions:
        label = localized(question, "label")
        validators: list[Any] = (
            [DataRequired(message=gettext("Please answer “%(question)s”.", question=label))]
            if question.required
            else [Optional()]
        )
        choices = [SelectChoice(o["value"], _option_label(o)) for o in question.options]
        if question.kind == QuestionKind.SINGLE:
            field: Any = RadioField(label, choices=choices, validators=validators)
        elif question.kind == QuestionKind.MULTIPLE:
            field = CheckboxesField(label, choices=choices, validators=validators)
        else:
            field = TextAreaField(label, validators=[*validators, Length(max=2000)])
        setattr(RegistrationForm, f"q_{question.id}", field)
    if methods:
        # How a paid ticket is paid, asked beside it: Register then leads straight to paying.
        RegistrationForm.payment_method = RadioField(  # type: ignore[attr-defined]
            _l("If your ticket is paid, pay by"),
            choices=[SelectChoice(value, label) for value, label in methods],
            validators=[Optional()],
            default=methods[0][0],
        )
    return RegistrationForm


class CancelRegistrationForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])
