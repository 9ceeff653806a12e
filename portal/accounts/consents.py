"""Consent before a person's data goes to a partner abroad (APPI art. 28).

The portal is run by LINK-J in Japan (``HOME_COUNTRY``). When a member's claim or registration
would be seen by the staff of an organization in another country (BIOCOM and UC San Diego
in the United States, Eurobiomed in France, One Nucleus in the United Kingdom), the member
first agrees, once per organization, to a statement naming the country, its system for
protecting personal data, what is shared, why, and what the recipient does to protect it.
No consent is needed for an organization in Japan, nor for a person's own organization
(a BIOCOM member's data going to BIOCOM).

``require_consent`` is the one place that enforces it; the claim and registration services
call it. Withdrawing a consent tells every area registered in ``personal_data`` (pending
claims with that partner are withdrawn).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts import personal_data
from portal.accounts.models import (
    LIVE_MEMBERSHIP_STATES,
    CrossBorderConsent,
    Membership,
    Person,
)
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.i18n import country_name
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.organizations.models import Organization

#: Bump whenever the statement's texts change: consents to an older version no longer count,
#: and people are asked again.
STATEMENT_VERSION = 1

#: Each country's system for protecting personal data, as the statement describes it.
PROTECTION_SYSTEMS = {
    "US": _l(
        "The United States has no general federal law on personal information like Japan's. "
        "Protection comes from federal laws for particular sectors, the Federal Trade "
        "Commission's action against unfair or deceptive practices, and state laws such as "
        "the California Consumer Privacy Act."
    ),
    "FR": _l(
        "France applies the European Union's General Data Protection Regulation (GDPR), "
        "supervised by the CNIL. Japan's Personal Information Protection Commission "
        "recognises the EU as protecting personal information at a level equivalent to "
        "Japan's."
    ),
    "GB": _l(
        "The United Kingdom applies the UK GDPR and the Data Protection Act 2018, supervised "
        "by the Information Commissioner's Office. Japan's Personal Information Protection "
        "Commission recognises the UK as protecting personal information at a level "
        "equivalent to Japan's."
    ),
}
#: The portal is LINK-J's, run in Japan under Japan's Act on the Protection of Personal
#: Information: an organization elsewhere is abroad.
HOME_COUNTRY = "JP"
#: Years a record of data given to a third party is kept (APPI art. 29 and its rules).
RECORD_YEARS = 3


class ConsentRequired(DomainError):
    """The person has not agreed yet that their data may go to these organizations."""

    def __init__(self, organizations: Sequence[Organization]) -> None:
        super().__init__(
            _(
                "Your data would go to %(organizations)s abroad. "
                "Please read how it is shared, and agree, to continue.",
                organizations=", ".join(o.short_name for o in organizations),
            )
        )
        self.organizations = list(organizations)


# --- who needs to agree --------------------------------------------------------------------


def missing_consents(person: Person, organizations: Iterable[Organization]) -> list[Organization]:
    """The organizations among these that the person's data may not go to yet: those abroad,
    other than the person's own, without a live consent to the current statement."""
    abroad = {o.id: o for o in organizations if o.country != HOME_COUNTRY}
    if not abroad:
        return []
    own = set(
        db.session.scalars(
            select(Membership.organization_id).where(
                Membership.person_id == person.id,
                Membership.organization_id.in_(list(abroad)),
                Membership.status.in_([s.value for s in LIVE_MEMBERSHIP_STATES]),
            )
        )
    )
    asked = [o for o in abroad.values() if o.id not in own]
    if not asked:
        return []
    agreed = set(
        db.session.scalars(
            select(CrossBorderConsent.organization_id).where(
                CrossBorderConsent.person_id == person.id,
                CrossBorderConsent.organization_id.in_([o.id for o in asked]),
                CrossBorderConsent.withdrawn_at.is_(None),
                CrossBorderConsent.statement_version == STATEMENT_VERSION,
            )
        )
    )
    return sorted((o for o in asked if o.id not in agreed), key=lambda o: o.id)


def require_consent(person: Person, organizations: Iterable[Organization]) -> None:
    """Refuse to let the person's data reach an organization abroad without their consent.

    The claim and registration services call this before anything is sent. Raises
    ConsentRequired naming the organizations still to agree to, after rolling back the
    caller's transaction (a refusal changes nothing, and frees any lock taken).
    """
    missing = missing_consents(person, organizations)
    if missing:
        ids = [o.id for o in missing]
        db.session.rollback()
        raise ConsentRequired([o for i in ids if (o := db.session.get(Organization, i))])


# --- the statement -------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """What the person agrees to for one organization, in the viewer's language."""

    organization: Organization
    version: int
    country: str
    title: str
    introduction: str
    shared: str
    purpose: str
    protection_system: str
    recipient_measures: str
    withdrawal: str


def statement(organization: Organization) -> Statement:
    """The statement for ``organization``, as of ``STATEMENT_VERSION``."""
    name = organization.short_name
    country = country_name(organization.country)
    system = PROTECTION_SYSTEMS.get(organization.country)
    return Statement(
        organization=organization,
        version=STATEMENT_VERSION,
        country=country,
        title=_("Sharing your data with %(organization)s (%(country)s)", **_names(name, country)),
        introduction=_(
            "%(organization)s is in %(country)s. Japan's Act on the Protection of Personal "
            "Information (article 28) asks for your consent before your personal data goes to "
            "it, and for you to know the following first.",
            **_names(name, country),
        ),
        shared=_(
            "Your name, email address and affiliation, your memberships, and the benefit "
            "claims and event registrations you make with %(organization)s, with your answers "
            "to the event's questions.",
            organization=name,
        ),
        purpose=_(
            "So that %(organization)s can decide on and provide the services you claim from "
            "it, and run the events it hosts or co-hosts that you register for.",
            organization=name,
        ),
        protection_system=str(system)
        if system
        else _(
            "LINK-J's secretariat can tell you about the rules on personal information in "
            "%(country)s before you agree.",
            country=country,
        ),
        recipient_measures=_(
            "%(organization)s's staff see your data only in this portal, signed in with "
            "accounts of their own, and only the claims and registrations made with "
            "%(organization)s.",
            organization=name,
        ),
        withdrawal=_(
            "You can withdraw your consent at any time on your account page. Claims still "
            "waiting for %(organization)s's decision are then withdrawn; what was shared "
            "before stays with %(organization)s.",
            organization=name,
        ),
    )


def _names(organization: str, country: str) -> dict[str, str]:
    return {"organization": organization, "country": country}


# --- giving and withdrawing ----------------------------------------------------------------


def give_consent(
    person: Person, organizations: Iterable[Organization], *, version: int
) -> list[CrossBorderConsent]:
    """Record that the person agreed to the statement (``version``) for each organization.

    Once per organization: agreeing again changes nothing, and agreeing to a newer statement
    replaces the consent to the older one. Organizations that need no consent are skipped.
    Audited (consent.give). Raises InvalidInput when the statement changed since it was shown.
    """
    if version != STATEMENT_VERSION:
        raise InvalidInput(
            _("The statement has changed since you opened the page. Please read it again.")
        )
    chosen = list({o.id: o for o in organizations}.values())
    moment = utcnow()
    given: list[CrossBorderConsent] = []
    for organization in chosen:
        if organization.country == HOME_COUNTRY:
            continue
        live = db.session.scalar(
            select(CrossBorderConsent).where(
                CrossBorderConsent.person_id == person.id,
                CrossBorderConsent.organization_id == organization.id,
                CrossBorderConsent.withdrawn_at.is_(None),
            )
        )
        if live is not None and live.statement_version == version:
            given.append(live)
            continue
        if live is not None:
            live.withdrawn_at = moment  # replaced by the consent to the newer statement
            db.session.flush()
        consent = CrossBorderConsent(
            person_id=person.id,
            organization_id=organization.id,
            statement_version=version,
            given_at=moment,
        )
        db.session.add(consent)
        try:
            db.session.flush()
        except IntegrityError:
            # The same agreement from another tab, committed a moment ago.
            db.session.rollback()
            return give_consent(person, chosen, version=version)
        record(
            "consent.give",
            actor=person,
            subject_type="cross_border_consent",
            subject_id=consent.id,
            organization_id=organization.id,
            country=organization.country,
            statement_version=version,
        )
        given.append(consent)
    db.session.commit()
    return given


def withdraw_consent(consent: CrossBorderConsent, *, person: Person) -> None:
    """The person withdraws a consent; pending claims with that organization are withdrawn.

    Audited (consent.withdraw). Raises NotFound for someone else's consent,
    InvalidTransition when it is already withdrawn.
    """
    if consent.person_id != person.id:
        raise NotFound(_("Not found."))
    if consent.withdrawn_at is not None:
        raise InvalidTransition(_("This consent is already withdrawn."))
    moment = utcnow()
    consent.withdrawn_at = moment
    record(
        "consent.withdraw",
        actor=person,
        subject_type="cross_border_consent",
        subject_id=consent.id,
        organization_id=consent.organization_id,
        statement_version=consent.statement_version,
    )
    for area in personal_data.areas():
        if area.consent_withdrawn is not None:
            area.consent_withdrawn(person, consent.organization, moment)
    db.session.commit()


def consents_of(person: Person) -> list[CrossBorderConsent]:
    """The person's consents, live ones first, newest first."""
    return list(
        db.session.scalars(
            select(CrossBorderConsent)
            .where(CrossBorderConsent.person_id == person.id)
            .options(joinedload(CrossBorderConsent.organization))
            .order_by(
                CrossBorderConsent.withdrawn_at.is_not(None),
                CrossBorderConsent.given_at.desc(),
                CrossBorderConsent.id.desc(),
            )
        )
    )


# --- the person's data ---------------------------------------------------------------------


def _export(person: Person) -> Mapping[str, Any]:
    return {
        "cross_border_consents": [
            {
                "organization": c.organization.slug,
                "country": c.organization.country,
                "statement_version": c.statement_version,
                "given_at": personal_data.when(c.given_at),
                "withdrawn_at": personal_data.when(c.withdrawn_at),
            }
            for c in consents_of(person)
        ]
    }


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    # Nothing more goes abroad; the rows stay as the record of what was agreed (RECORD_YEARS).
    live = db.session.scalars(
        select(CrossBorderConsent).where(
            CrossBorderConsent.person_id == person.id, CrossBorderConsent.withdrawn_at.is_(None)
        )
    ).all()
    for consent in live:
        consent.withdrawn_at = moment
    return {"consents_withdrawn": len(live)}


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    any_consent = db.session.scalar(
        select(CrossBorderConsent.id).where(CrossBorderConsent.person_id == person.id).limit(1)
    )
    if any_consent is None:
        return []
    return [
        personal_data.Kept(
            what=_(
                "Your consents to share data with partners abroad: which partner, which "
                "statement, and when you gave and withdrew them."
            ),
            why=_(
                "Japan's Act on the Protection of Personal Information (article 29) asks LINK-J "
                "to keep a record of personal data given to third parties, and of the consent "
                "it relied on, for three years."
            ),
            until=personal_data.years_after(day, RECORD_YEARS),
        )
    ]


personal_data.register(
    personal_data.PersonalDataArea(
        position=30,
        name="cross_border_consents",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=("cross_border_consent",),
    )
)
