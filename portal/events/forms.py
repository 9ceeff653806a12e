"""Forms of the event pages. The registration form is built per event from its questions."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.events.models import Event, QuestionKind
from portal.events.pricing import TicketOffer
from portal.forms import Required
from portal.i18n import localized
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
    from portal.i18n import current_language

    primary = "label_ja" if current_language() == "ja" else "label_en"
    secondary = "label_en" if primary == "label_ja" else "label_ja"
    return option.get(primary) or option.get(secondary) or option["value"]


def registration_form_for(event: Event, offers: list[TicketOffer]) -> RegistrationFormBase:
    """A form with the ticket types open to this person and the event's questions."""

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
    form = RegistrationForm()
    form.ticket_type.choices = [
        SelectChoice(
            str(o.ticket_type.id),
            f"{localized(o.ticket_type, 'name')} — "
            f"{format_money(o.price, o.ticket_type.currency) if o.price else _l('Free')} "
            f"({o.description})",
        )
        for o in offers
    ]
    if offers and form.ticket_type.data is None:
        form.ticket_type.data = offers[0].ticket_type.id
    return form


class CancelRegistrationForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])
