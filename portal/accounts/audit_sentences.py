"""How the audit log tells the accounts area's decisions (``portal.audit.sentences``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.labels import ROLE_LABELS, VERIFICATION_SOURCE_LABELS
from portal.accounts.models import Membership, Person, Role
from portal.audit import sentences
from portal.audit.models import AuditEntry
from portal.audit.sentences import fill, link
from portal.extensions import db
from portal.i18n import person_name
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.timefmt import long_day


def _memberships(ids: Iterable[int]) -> Mapping[int, Membership]:
    found = db.session.scalars(
        select(Membership)
        .where(Membership.id.in_(list(ids)))
        .options(joinedload(Membership.person), joinedload(Membership.organization))
    )
    return {m.id: m for m in found}


def _people(ids: Iterable[int]) -> Mapping[int, Person]:
    return {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(list(ids))))}


def _member(membership: Membership) -> Markup:
    url = url_for("accounts_manage.membership", membership_id=membership.id)
    return link(person_name(membership.person), url)


def _until(entry: AuditEntry) -> str:
    value = entry.details.get("valid_until")
    try:
        return long_day(date.fromisoformat(value)) if value else ""
    except ValueError:
        return str(value)


def _verified(entry: AuditEntry, membership: Any, actor: Markup) -> Markup | None:
    if membership is None:
        return None
    values = {
        "person": _member(membership),
        "organization": membership.organization.short_name,
        "date": _until(entry),
    }
    if entry.actor_id is None:
        via = VERIFICATION_SOURCE_LABELS.get(entry.details.get("via", ""), "")
        return fill(
            _(
                "%(person)s's %(organization)s membership was verified automatically "
                "(%(via)s) until %(date)s"
            ),
            via=via,
            **values,
        )
    return fill(
        _("%(actor)s verified %(person)s's %(organization)s membership until %(date)s"),
        actor=actor,
        **values,
    )


def _decided(template: Any) -> sentences.Sentence:
    def sentence(entry: AuditEntry, membership: Any, actor: Markup) -> Markup | None:
        if membership is None:
            return None
        return fill(
            template,
            actor=actor,
            person=_member(membership),
            organization=membership.organization.short_name,
        )

    return sentence


def _role(template: Any) -> sentences.Sentence:
    def sentence(entry: AuditEntry, person: Any, actor: Markup) -> Markup | None:
        if person is None:
            return None
        name: Markup | str = person_name(person)
        if current_user.is_authenticated and current_user.is_admin:
            name = link(str(name), url_for("accounts_manage.person", person_id=person.id))
        role = entry.details.get("role", "")
        label = ROLE_LABELS.get(Role(role), role) if role in set(Role) else role
        return fill(template, actor=actor, person=name, role=label)

    return sentence


def register() -> None:
    sentences.register_subject("membership", _memberships)
    sentences.register_subject("person", _people)
    sentences.register("membership.verify", _verified)
    sentences.register(
        "membership.reject",
        _decided(_l("%(actor)s rejected %(person)s's claim to %(organization)s membership")),
    )
    sentences.register(
        "membership.revoke",
        _decided(_l("%(actor)s revoked %(person)s's %(organization)s membership")),
    )
    sentences.register(
        "membership.expire", _decided(_l("%(person)s's %(organization)s membership expired"))
    )
    sentences.register("role.grant", _role(_l("%(actor)s gave %(person)s the role %(role)s")))
    sentences.register(
        "role.revoke", _role(_l("%(actor)s removed the role %(role)s from %(person)s"))
    )
