"""How the audit log tells what happened to benefit claims (``portal.audit.sentences``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import url_for
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.audit import sentences
from portal.audit.models import AuditEntry
from portal.audit.sentences import fill, link
from portal.benefits.models import BenefitClaim
from portal.extensions import db
from portal.i18n import localized, person_name
from portal.language import lazy_gettext as _l
from portal.organizations.models import ReciprocalService


def _claims(ids: Iterable[int]) -> Mapping[int, BenefitClaim]:
    found = db.session.scalars(
        select(BenefitClaim)
        .where(BenefitClaim.id.in_(list(ids)))
        .options(
            joinedload(BenefitClaim.person),
            joinedload(BenefitClaim.service).joinedload(ReciprocalService.provider),
        )
    )
    return {c.id: c for c in found}


def _claim_sentence(template: Any, automatic: Any = None) -> sentences.Sentence:
    """``automatic``: the sentence when the portal acted alone (no approval needed)."""

    def sentence(entry: AuditEntry, claim: Any, actor: Markup) -> Markup | None:
        if claim is None:
            return None
        url = url_for("benefits_manage.claim", claim_id=claim.id)
        values = {
            "actor": actor,
            "person": person_name(claim.person),
            "service": link(localized(claim.service, "title"), url),
            "provider": claim.service.provider.short_name,
        }
        chosen = automatic if automatic is not None and entry.actor_id is None else template
        return fill(chosen, **values)

    return sentence


def register() -> None:
    sentences.register_subject("benefit_claim", _claims)
    sentences.register(
        "benefit_claim.request",
        _claim_sentence(_l("%(person)s claimed “%(service)s” from %(provider)s")),
    )
    sentences.register(
        "benefit_claim.approve",
        _claim_sentence(
            _l("%(actor)s granted %(person)s's claim for “%(service)s”"),
            automatic=_l(
                "%(person)s's claim for “%(service)s” was granted at once (no approval needed)"
            ),
        ),
    )
    sentences.register(
        "benefit_claim.reject",
        _claim_sentence(_l("%(actor)s refused %(person)s's claim for “%(service)s”")),
    )
    sentences.register(
        "benefit_claim.cancel",
        _claim_sentence(
            _l("%(actor)s cancelled the claim of %(person)s for “%(service)s”"),
            automatic=_l("%(person)s's claim for “%(service)s” was withdrawn"),
        ),
    )
    sentences.register(
        "benefit_claim.fulfil",
        _claim_sentence(_l("%(actor)s marked %(person)s's claim for “%(service)s” as fulfilled")),
    )
