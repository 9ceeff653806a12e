"""Applying for a plan: the application, staff's questions, orientation, and the decision.

    submitted ──(staff ask for changes)──▶ changes_requested ──(applicant edits)──▶ submitted
    submitted ──(staff propose slots)──▶ orientation_proposed ──(applicant picks)──▶
    orientation_booked ──(staff, after the orientation)──▶ approved (dues issued) | declined

Each step is audited when staff take it (rule 7) and mailed in its transaction (rule 8).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.dues import corporate_number
from portal.dues.charging import issue_joining_charge
from portal.dues.hub import live_hub_membership
from portal.dues.models import (
    LIVE_APPLICATION_STATES,
    ApplicationStatus,
    DuesPlan,
    MembershipApplication,
    OrientationMode,
    OrientationSlot,
    PlanKind,
)
from portal.dues.terms import TERMS_VERSION
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person


@dataclass(frozen=True)
class ApplicationDetails:
    """What an applicant fills in; the form and the service share this one definition."""

    company_name: str = ""
    company_name_kana: str = ""
    corporate_number: str = ""
    postal_code: str = ""
    address: str = ""
    representative_name: str = ""
    representative_title: str = ""
    billing_name: str = ""
    billing_email: str = ""
    billing_department: str = ""
    interests: str = ""
    expectations: str = ""
    referral: str = ""


_KANA = re.compile(r"^[\u30a0-\u30ff\s・ー0-9A-Za-z（）()&.\-]+$")


def _to_katakana(text: str) -> str:
    # Hiragana typed for the reading becomes katakana, as registries write company readings.
    return "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch for ch in text)


def _cleaned(plan: DuesPlan, details: ApplicationDetails) -> ApplicationDetails:
    """The details as stored, or InvalidInput naming the first field at fault (rule 10)."""
    values = {k: unicodedata.normalize("NFKC", v).strip() for k, v in asdict(details).items()}
    values["company_name"] = details.company_name.strip()
    values["address"] = details.address.strip()
    required = ["address", "billing_name", "billing_email"]
    if plan.kind == PlanKind.CORPORATE:
        required = ["company_name", "company_name_kana", "corporate_number", "address"]
        required += ["representative_name", "billing_name", "billing_email"]
    for name in required:
        if not values[name]:
            raise InvalidInput(_("This field is required."), field=name)
    if values["company_name_kana"]:
        kana = _to_katakana(values["company_name_kana"])
        if not _KANA.match(kana):
            raise InvalidInput(_("Write the reading in katakana."), field="company_name_kana")
        values["company_name_kana"] = kana
    if values["corporate_number"]:
        number = corporate_number.normalize(values["corporate_number"])
        if not corporate_number.is_valid(number):
            raise InvalidInput(
                _("A corporate number is 13 digits and its first digit must check the others."),
                field="corporate_number",
            )
        values["corporate_number"] = number
    if "@" not in values["billing_email"]:
        raise InvalidInput(_("Enter an email address."), field="billing_email")
    return ApplicationDetails(**values)


def submit_application(
    person: Person, plan: DuesPlan, details: ApplicationDetails, *, terms_version: int | None
) -> MembershipApplication:
    """A person (for a company: its representative's delegate) applies for an open plan."""
    if not plan.open_for_applications:
        raise InvalidTransition(_("This plan does not take applications now."))
    if terms_version != TERMS_VERSION:
        raise InvalidInput(_("Agree to LINK-J's objectives and terms to apply."), field="agree")
    if live_hub_membership(person, verified_only=True) is not None:
        raise InvalidTransition(_("You are a LINK-J member already."))
    if db.session.scalar(
        select(MembershipApplication.id).where(
            MembershipApplication.person_id == person.id,
            MembershipApplication.status.in_([s.value for s in LIVE_APPLICATION_STATES]),
        )
    ):
        raise InvalidTransition(_("You have an application in progress already."))
    application = MembershipApplication(
        person_id=person.id,
        plan=plan,
        terms_version=TERMS_VERSION,
        terms_agreed_at=utcnow(),
        **asdict(_cleaned(plan, details)),
    )
    db.session.add(application)
    db.session.flush()
    _tell(application, "application_received")
    db.session.commit()
    return application


def _tell(application: MembershipApplication, template: str, **context: object) -> None:
    mail_person(
        application.person,
        f"dues/{template}",
        application=application,
        plan=application.plan,
        application_url=external_url("dues.application", application_id=application.id),
        **context,
    )


def _audit(application: MembershipApplication, action: str, actor: Person, **details: object):  # noqa: ANN202
    record(
        f"dues.application_{action}",
        actor=actor,
        subject_type="membership_application",
        subject_id=application.id,
        organization_id=None,
        **details,
    )


def _require_staff(actor: Person) -> None:
    if not actor.is_staff:
        raise NotFound(_("Not found."))


def _require_own(application: MembershipApplication, person: Person) -> None:
    if application.person_id != person.id:
        raise NotFound(_("Not found."))


def update_application(
    application: MembershipApplication, person: Person, details: ApplicationDetails
) -> None:
    """The applicant answers staff's request for changes; the application is back in the queue."""
    _require_own(application, person)
    if application.status != ApplicationStatus.CHANGES_REQUESTED:
        raise InvalidTransition(_("This application cannot be changed now."))
    for name, value in asdict(_cleaned(application.plan, details)).items():
        setattr(application, name, value)
    application.status = ApplicationStatus.SUBMITTED.value
    db.session.commit()


def request_changes(application: MembershipApplication, *, actor: Person, message: str) -> None:
    _require_staff(actor)
    if application.status not in (
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ORIENTATION_PROPOSED,
    ):
        raise InvalidTransition(
            _("Changes can be asked for only before the orientation is booked.")
        )
    if not message.strip():
        raise InvalidInput(_("Say what should change; the applicant will see it."), field="message")
    application.status = ApplicationStatus.CHANGES_REQUESTED.value
    application.staff_message = message.strip()
    _audit(application, "changes", actor, reason=message.strip())
    _tell(application, "changes_requested")
    db.session.commit()


@dataclass(frozen=True)
class SlotProposal:
    starts_at: datetime
    mode: str
    place: str
    minutes: int = 60


def propose_slots(
    application: MembershipApplication, proposals: list[SlotProposal], *, actor: Person
) -> None:
    """Staff offer orientation times (replacing any offered before); the applicant picks one."""
    _require_staff(actor)
    if application.status not in (
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ORIENTATION_PROPOSED,
        ApplicationStatus.ORIENTATION_BOOKED,
    ):
        raise InvalidTransition(
            _("Orientation can be offered only to an application in the queue.")
        )
    if not proposals:
        raise InvalidInput(_("Offer at least one time."), field="slots")
    for proposal in proposals:
        if proposal.starts_at <= utcnow():
            raise InvalidInput(_("Offer times in the future."), field="slots")
        if proposal.mode not in set(OrientationMode):
            raise InvalidInput(_("Choose in person or online."), field="slots")
    for slot in list(application.slots):
        db.session.delete(slot)
    db.session.flush()
    db.session.expire(application, ["slots"])
    for proposal in proposals:
        db.session.add(
            OrientationSlot(
                application_id=application.id,
                starts_at=proposal.starts_at,
                minutes=proposal.minutes,
                mode=proposal.mode,
                place=proposal.place.strip(),
            )
        )
    application.status = ApplicationStatus.ORIENTATION_PROPOSED.value
    _audit(application, "orientation", actor, slots=len(proposals))
    _tell(application, "orientation_proposed")
    db.session.commit()


def choose_slot(
    application: MembershipApplication, slot_id: int, *, person: Person
) -> OrientationSlot:
    """The applicant books one of the offered times."""
    _require_own(application, person)
    if application.status != ApplicationStatus.ORIENTATION_PROPOSED:
        raise InvalidTransition(_("There is no orientation time to choose now."))
    slot = next((s for s in application.slots if s.id == slot_id), None)
    if slot is None:
        raise InvalidInput(_("Choose one of the times offered."), field="slot")
    if slot.starts_at <= utcnow():
        raise InvalidInput(_("That time has passed; choose another."), field="slot")
    slot.chosen = True
    application.status = ApplicationStatus.ORIENTATION_BOOKED.value
    _tell(
        application,
        "orientation_booked",
        slot=slot,
        calendar_url=external_url("dues.orientation_ics", application_id=application.id),
    )
    db.session.commit()
    return slot


def approve(application: MembershipApplication, *, actor: Person) -> None:
    """After the orientation, staff approve: the joining charge (initial fee and the first
    year's dues, rule 19) is issued, by invoice for a corporate plan or for card payment."""
    _require_staff(actor)
    if application.status != ApplicationStatus.ORIENTATION_BOOKED:
        raise InvalidTransition(_("Approve an application once its orientation is booked."))
    application.status = ApplicationStatus.APPROVED.value
    application.decided_by_id = actor.id
    application.decided_at = utcnow()
    _audit(application, "approve", actor)
    charge = issue_joining_charge(application)
    _tell(application, "approved", charge=charge, pay_url=external_url("dues.mine"))
    db.session.commit()


def decline(application: MembershipApplication, *, actor: Person, reason: str) -> None:
    _require_staff(actor)
    if application.status not in set(LIVE_APPLICATION_STATES):
        raise InvalidTransition(_("This application is decided already."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason; the applicant will see it."), field="reason")
    application.status = ApplicationStatus.DECLINED.value
    application.decision_reason = reason.strip()
    application.decided_by_id = actor.id
    application.decided_at = utcnow()
    _audit(application, "decline", actor, reason=reason.strip())
    _tell(application, "declined")
    db.session.commit()
