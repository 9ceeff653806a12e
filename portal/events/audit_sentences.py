"""How the audit log tells what organizers did with events (``portal.audit.sentences``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import url_for
from markupsafe import Markup
from sqlalchemy import select

from portal.audit import sentences
from portal.audit.models import AuditEntry
from portal.audit.sentences import fill, link
from portal.events.models import Event
from portal.extensions import db
from portal.i18n import localized
from portal.language import lazy_gettext as _l


def _events(ids: Iterable[int]) -> Mapping[int, Event]:
    return {e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_(list(ids))))}


def _event_sentence(template: Any) -> sentences.Sentence:
    def sentence(entry: AuditEntry, event: Any, actor: Markup) -> Markup | None:
        if event is None:
            return None
        title = link(localized(event, "title"), url_for("events.detail", slug=event.slug))
        return fill(template, actor=actor, event=title)

    return sentence


def register() -> None:
    sentences.register_subject("event", _events)
    sentences.register("event.publish", _event_sentence(_l("%(actor)s published %(event)s")))
    sentences.register("event.cancel", _event_sentence(_l("%(actor)s cancelled %(event)s")))
    sentences.register(
        "event.mail", _event_sentence(_l("%(actor)s wrote to the registrants of %(event)s"))
    )
