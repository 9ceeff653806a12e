"""Memberships and their verification by the home organization (cross-member access).

A claim is ``pending`` until the organization's admin (LINK-J staff for LINK-J) verifies or
rejects it, or a roster entry or an email-domain rule that admin set up verifies it.
Every decision is audited (rule 7) and the person is told by mail (rule 8).
"""

from __future__ import annotations

import calendar
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import (
    LIVE_MEMBERSHIP_STATES,
    Company,
    EmailDomainRule,
    Invitation,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    RosterEntry,
    RosterUpload,
    VerificationSource,
)
from portal.audit.services import record
from portal.csvfile import decode_upload
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.locking import lock_rows
from portal.notifications.services import external_url, queue_mail
from portal.organizations.models import Organization, OrganizationKind


def today(organization: Organization | None = None) -> date:
    """Today's date where the organization is: its membership years end at its midnight."""
    now = utcnow()
    if organization is None:
        return now.date()
    return now.astimezone(ZoneInfo(organization.timezone)).date()


# --- who may do what ---


def can_decide_memberships(actor: Person | None, organization: Organization) -> bool:
    """Partner admins decide their own organization's memberships; staff decide LINK-J's."""
    return actor is not None and actor.acts_for(organization)


def can_view_memberships(actor: Person | None, organization: Organization) -> bool:
    """Staff see every organization's queue; partner admins their own only (rule 4)."""
    return actor is not None and (actor.is_staff or can_decide_memberships(actor, organization))


def _require_decider(actor: Person, organization: Organization) -> None:
    if not can_decide_memberships(actor, organization):
        # 404, not 403: another organization's records do not exist for this actor.
        raise NotFound(_("Not found."))


def default_validity_end(organization: Organization, on: date | None = None) -> date:
    """The last day of the organization's membership year that contains ``on`` (today)."""
    on = on or today(organization)
    month = organization.membership_year_end_month
    year = on.year if on.month <= month else on.year + 1
    return date(year, month, calendar.monthrange(year, month)[1])


# --- claims ---


def add_membership_claim(
    person: Person,
    organization: Organization,
    *,
    kind: str = MembershipKind.INDIVIDUAL.value,
    member_number: str = "",
) -> Membership:
    """Add a pending membership to the current transaction (no commit)."""
    if any(
        m.organization_id == organization.id and m.status in LIVE_MEMBERSHIP_STATES
        for m in person.memberships
    ):
        raise InvalidTransition(
            _("You already have a membership in this organization, pending or verified.")
        )
    membership = Membership(
        person=person,
        organization=organization,
        kind=MembershipKind(kind).value,
        member_number=(member_number or "").strip() or None,
        status=MembershipStatus.PENDING.value,
    )
    db.session.add(membership)
    return membership


def claim_membership(
    person: Person,
    organization: Organization,
    *,
    kind: str = MembershipKind.INDIVIDUAL.value,
    member_number: str = "",
) -> Membership:
    """A signed-in person claims membership in one more organization.

    Verified at once when a roster entry or domain rule matches a confirmed address.
    Raises InvalidTransition while a live membership in that organization exists.
    """
    membership = add_membership_claim(person, organization, kind=kind, member_number=member_number)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidTransition(
            _("You already have a membership in this organization, pending or verified.")
        ) from None
    apply_automatic_verification(person)
    db.session.commit()
    return membership


# --- decisions ---


def _tell(membership: Membership, template: str) -> None:
    person = membership.person
    queue_mail(
        to=person.email,
        template=f"accounts/{template}",
        locale=person.preferred_locale,
        person_id=person.id,
        person=person,
        membership=membership,
        organization=membership.organization,
        dashboard_url=external_url("accounts.dashboard"),
    )


def _verify(
    membership: Membership,
    *,
    actor: Person | None,
    valid_until: date,
    via: VerificationSource,
    reason: str = "",
) -> None:
    membership.status = MembershipStatus.VERIFIED.value
    membership.valid_until = valid_until
    membership.verified_via = via.value
    membership.decided_by_id = actor.id if actor else None
    membership.decided_at = utcnow()
    membership.decision_reason = ""
    membership.missing_from_roster_since = None
    record(
        "membership.verify",
        actor=actor,
        subject_type="membership",
        subject_id=membership.id,
        organization_id=membership.organization_id,
        reason=reason,
        via=via.value,
        valid_until=valid_until.isoformat(),
    )
    _tell(membership, "membership_verified")


def verify_membership(
    membership: Membership,
    *,
    actor: Person,
    valid_until: date | None = None,
    note: str = "",
) -> None:
    """Verify a pending membership until ``valid_until`` (default: end of the membership year).

    Raises NotFound outside the actor's organization, InvalidTransition unless pending,
    InvalidInput for an end date in the past.
    """
    _require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_("Only pending memberships can be verified."))
    local_today = today(membership.organization)
    end = valid_until or default_validity_end(membership.organization, local_today)
    if end < local_today:
        raise InvalidInput(_("The validity end cannot be in the past."))
    _verify(membership, actor=actor, valid_until=end, via=VerificationSource.MANUAL, reason=note)
    db.session.commit()


def verify_memberships(
    membership_ids: Iterable[int],
    *,
    actor: Person,
    organization: Organization,
    valid_until: date | None = None,
) -> int:
    """Bulk-verify pending memberships of one organization, in one transaction.

    Ids of other organizations or not pending are ignored (never acted on); returns how many
    were verified.
    """
    _require_decider(actor, organization)
    local_today = today(organization)
    end = valid_until or default_validity_end(organization, local_today)
    if end < local_today:
        raise InvalidInput(_("The validity end cannot be in the past."))
    ids = sorted(set(membership_ids))
    if not ids:
        raise InvalidInput(_("Select at least one membership."))
    pending = db.session.scalars(
        select(Membership)
        .where(
            Membership.id.in_(ids),
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.PENDING.value,
        )
        .order_by(Membership.id)
        .with_for_update()
    ).all()
    for membership in pending:
        _verify(membership, actor=actor, valid_until=end, via=VerificationSource.MANUAL)
    db.session.commit()
    return len(pending)


def _end_with_reason(
    membership: Membership, *, actor: Person, reason: str, target: MembershipStatus, action: str
) -> None:
    """A decision the person is told the reason for (reject, revoke): audited and mailed."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason; the person will see it."))
    membership.status = target.value
    membership.decided_by_id = actor.id
    membership.decided_at = utcnow()
    membership.decision_reason = reason
    record(
        f"membership.{action}",
        actor=actor,
        subject_type="membership",
        subject_id=membership.id,
        organization_id=membership.organization_id,
        reason=reason,
    )
    _tell(membership, f"membership_{target.value}")
    db.session.commit()


def reject_membership(membership: Membership, *, actor: Person, reason: str) -> None:
    """Reject a pending claim with a reason the person sees."""
    _require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_("Only pending memberships can be rejected."))
    _end_with_reason(
        membership, actor=actor, reason=reason, target=MembershipStatus.REJECTED, action="reject"
    )


def revoke_membership(membership: Membership, *, actor: Person, reason: str) -> None:
    """End a verified membership early, with a reason the person sees."""
    _require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.VERIFIED:
        raise InvalidTransition(_("Only verified memberships can be revoked."))
    _end_with_reason(
        membership, actor=actor, reason=reason, target=MembershipStatus.REVOKED, action="revoke"
    )


def expire_memberships(*, on: date | None = None) -> int:
    """Record as ``expired`` the verified memberships whose validity ended before ``on``.

    Treatment already stops on the day after ``valid_until`` (``effective_status``); this
    makes the stored state and the queues agree, for the scheduled command.
    """
    # A day's margin in the query; each organization's own date decides below.
    cutoff = on or today() + timedelta(days=1)
    candidates = db.session.scalars(
        select(Membership)
        .where(
            Membership.status == MembershipStatus.VERIFIED.value,
            Membership.valid_until < cutoff,
        )
        .options(joinedload(Membership.organization))
    ).all()
    ended = [
        m
        for m in candidates
        if m.valid_until is not None and m.valid_until < (on or today(m.organization))
    ]
    for membership in ended:
        membership.status = MembershipStatus.EXPIRED.value
        record(
            "membership.expire",
            actor=None,
            subject_type="membership",
            subject_id=membership.id,
            organization_id=membership.organization_id,
        )
    db.session.commit()
    return len(ended)


# --- automatic verification ---


def _email_domain(email_normalized: str) -> str:
    return email_normalized.rpartition("@")[2]


def _domain_matches(domain: str, rule_domain: str) -> bool:
    return domain == rule_domain or domain.endswith("." + rule_domain)


def _latest_roster(organization_id: int) -> RosterUpload | None:
    return db.session.scalar(
        select(RosterUpload)
        .where(RosterUpload.organization_id == organization_id)
        .order_by(RosterUpload.uploaded_at.desc(), RosterUpload.id.desc())
        .limit(1)
    )


def _roster_match(membership: Membership, upload: RosterUpload) -> RosterEntry | None:
    """A roster row naming this person: by confirmed address, or by member number when the
    row gives no address (a row with an address must match the address)."""
    email = membership.person.email_normalized
    by_email = db.session.scalar(
        select(RosterEntry)
        .where(RosterEntry.upload_id == upload.id, RosterEntry.email_normalized == email)
        .limit(1)
    )
    if by_email is not None:
        return by_email
    number = normalize_member_number(membership.member_number)
    if not number:
        return None
    return db.session.scalar(
        select(RosterEntry)
        .where(
            RosterEntry.upload_id == upload.id,
            RosterEntry.member_number == number,
            RosterEntry.email_normalized.is_(None),
        )
        .limit(1)
    )


def _try_automatic(membership: Membership) -> bool:
    person = membership.person
    if membership.status != MembershipStatus.PENDING or not person.email_confirmed:
        return False
    organization = membership.organization
    if any(
        m.organization_id == organization.id and m.status == MembershipStatus.REVOKED
        for m in person.memberships
    ):
        # A revoked member's new claim waits for a person to decide, whatever the rules say.
        return False
    on = today(organization)
    upload = _latest_roster(organization.id)
    if upload is not None:
        entry = _roster_match(membership, upload)
        if entry is not None:
            end = entry.valid_until or default_validity_end(organization, on)
            if end >= on:
                _verify(membership, actor=None, valid_until=end, via=VerificationSource.ROSTER)
                return True
    domain = _email_domain(person.email_normalized)
    rules = db.session.scalars(
        select(EmailDomainRule.domain).where(EmailDomainRule.organization_id == organization.id)
    ).all()
    if any(_domain_matches(domain, rule) for rule in rules):
        _verify(
            membership,
            actor=None,
            valid_until=default_validity_end(organization, on),
            via=VerificationSource.DOMAIN_RULE,
        )
        return True
    return False


def apply_automatic_verification(person: Person) -> int:
    """Verify the person's pending claims that a roster or domain rule vouches for (no commit)."""
    return sum(_try_automatic(m) for m in person.memberships)


def _apply_to_pending(organization: Organization) -> int:
    pending = db.session.scalars(
        select(Membership)
        .join(Membership.person)
        .where(
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.PENDING.value,
            Person.email_confirmed_at.is_not(None),
        )
        .order_by(Membership.id)
    ).all()
    return sum(_try_automatic(m) for m in pending)


# --- rosters ---

#: Column names a roster may use, in English or as Japanese Excel sheets title them.
ROSTER_COLUMNS = {
    "member_number": {
        "member_number",
        "member number",
        "member no",
        "member no.",
        "number",
        "会員番号",
        "会員no",
        "会員no.",
    },
    "email": {"email", "e-mail", "email address", "mail", "メールアドレス", "メール", "eメール"},
    "valid_until": {
        "valid_until",
        "valid until",
        "expires",
        "expiry",
        "有効期限",
        "有効期間終了日",
    },
    "organization": {"organization", "organisation", "org", "団体", "団体名", "所属団体"},
}


def normalize_member_number(number: str | None) -> str | None:
    if not number:
        return None
    # Full-width digits and letters from Japanese input become ASCII; case and spaces go.
    cleaned = unicodedata.normalize("NFKC", number).strip().upper().replace(" ", "")
    return cleaned or None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
)


def parse_roster_date(value: str) -> date | None:
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                break
    raise ValueError(value)


@dataclass
class RosterRow:
    line: int
    member_number: str | None
    email: str | None
    valid_until: date | None


@dataclass
class RosterImport:
    rows: int = 0
    encoding: str = ""
    verified: int = 0
    flagged: int = 0
    unflagged: int = 0
    errors: list[str] = field(default_factory=list)


def _organization_named(value: str, organization: Organization) -> bool:
    wanted = value.strip().lower()
    return wanted in {
        organization.slug.lower(),
        organization.short_name.lower(),
        organization.name_en.lower(),
        organization.name_ja.lower(),
    }


_NUMBER_LENGTH = RosterEntry.__table__.c.member_number.type.length
_EMAIL_LENGTH = RosterEntry.__table__.c.email_normalized.type.length


def parse_roster(content: bytes, organization: Organization) -> tuple[list[RosterRow], str]:
    """Read a roster CSV; InvalidInput listing every problem, so nothing half-imports."""
    text, encoding = decode_upload(content)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise InvalidInput(_("The file is empty."))
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for name, aliases in ROSTER_COLUMNS.items():
            if key in aliases and name not in columns:
                columns[name] = index
    if "member_number" not in columns and "email" not in columns:
        raise InvalidInput(
            _(
                "The first row must name a member number column or an email column "
                "(for example “member_number,email,valid_until”). Found: %(found)s",
                found=", ".join(h.strip() for h in header) or "—",
            )
        )

    def cell(row: Sequence[str], name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    rows: list[RosterRow] = []
    errors: list[str] = []
    seen_numbers: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(value.strip() for value in row):
            continue
        other = cell(row, "organization")
        if other and not _organization_named(other, organization):
            errors.append(
                _("Line %(line)d names another organization (%(name)s).", line=line, name=other)
            )
            continue
        number = normalize_member_number(cell(row, "member_number"))
        email = cell(row, "email").lower() or None
        if email and ("@" not in email or " " in email):
            errors.append(
                _("Line %(line)d: “%(email)s” is not an email address.", line=line, email=email)
            )
            continue
        if not number and not email:
            errors.append(_("Line %(line)d has neither a member number nor an email.", line=line))
            continue
        if len(number or "") > _NUMBER_LENGTH or len(email or "") > _EMAIL_LENGTH:
            errors.append(_("Line %(line)d: the member number or email is too long.", line=line))
            continue
        try:
            valid_until = parse_roster_date(cell(row, "valid_until"))
        except ValueError:
            errors.append(
                _(
                    "Line %(line)d: the date “%(value)s” is not like 2027-03-31.",
                    line=line,
                    value=cell(row, "valid_until"),
                )
            )
            continue
        if number and number in seen_numbers:
            errors.append(
                _(
                    "Line %(line)d repeats member number %(number)s (first on line %(first)d).",
                    line=line,
                    number=number,
                    first=seen_numbers[number],
                )
            )
            continue
        if email and email in seen_emails:
            errors.append(
                _(
                    "Line %(line)d repeats %(email)s (first on line %(first)d).",
                    line=line,
                    email=email,
                    first=seen_emails[email],
                )
            )
            continue
        if number:
            seen_numbers[number] = line
        if email:
            seen_emails[email] = line
        rows.append(RosterRow(line, number, email, valid_until))
    if errors:
        shown = errors[:20]
        if len(errors) > 20:
            shown.append(_("…and %(count)d more problems.", count=len(errors) - 20))
        raise InvalidInput(_("Nothing was imported.") + " " + " ".join(shown))
    if not rows:
        raise InvalidInput(_("The file has a header but no members."))
    return rows, encoding


def import_roster(
    organization: Organization, *, actor: Person, filename: str, content: bytes
) -> RosterImport:
    """Replace the organization's roster with an uploaded CSV.

    Pending claims that the roster names are verified; verified members it no longer names
    are flagged for the admin to review (not revoked). All or nothing: a file with any bad
    row changes nothing (InvalidInput lists the rows).
    """
    _require_decider(actor, organization)
    rows, encoding = parse_roster(content, organization)
    upload = RosterUpload(
        organization_id=organization.id,
        uploaded_by_id=actor.id,
        filename=filename[:255],
        encoding=encoding,
        row_count=len(rows),
        entries=[
            RosterEntry(
                member_number=r.member_number, email_normalized=r.email, valid_until=r.valid_until
            )
            for r in rows
        ],
    )
    db.session.add(upload)
    db.session.flush()
    result = RosterImport(rows=len(rows), encoding=encoding)
    result.verified = _apply_to_pending(organization)

    # The same rule as matching: a number vouches only on a row that gives no address.
    numbers = {r.member_number for r in rows if r.member_number and not r.email}
    emails = {r.email for r in rows if r.email}
    now = utcnow()
    verified = db.session.scalars(
        select(Membership)
        .join(Membership.person)
        .where(
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.VERIFIED.value,
        )
    ).all()
    for membership in verified:
        listed = membership.person.email_normalized in emails or (
            normalize_member_number(membership.member_number) in numbers
        )
        if listed and membership.missing_from_roster_since:
            membership.missing_from_roster_since = None
            result.unflagged += 1
        elif not listed and not membership.missing_from_roster_since:
            membership.missing_from_roster_since = now
            result.flagged += 1
    record(
        "roster.import",
        actor=actor,
        subject_type="roster_upload",
        subject_id=upload.id,
        organization_id=organization.id,
        rows=len(rows),
        verified=result.verified,
        flagged=result.flagged,
    )
    db.session.commit()
    return result


# --- email-domain rules ---

#: Addresses anyone can get prove nothing about membership.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.com",
        "outlook.com",
        "outlook.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "live.com",
        "live.jp",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "yandex.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "nifty.com",
        "biglobe.ne.jp",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "wanadoo.fr",
        "btinternet.com",
        "sky.com",
    }
)
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](-*[a-z0-9])*)(\.[a-z0-9](-*[a-z0-9])*)+$")


#: Second-level labels under which anyone can register (co.jp, ac.uk, gouv.fr…): a rule for
#: "co.jp" would verify every Japanese company's staff.
SHARED_SECOND_LEVEL = frozenset(
    {
        "co",
        "ac",
        "or",
        "ne",
        "go",
        "lg",
        "ed",
        "gr",
        "ad",
        "com",
        "org",
        "net",
        "gov",
        "edu",
        "ltd",
        "plc",
        "nhs",
        "sch",
        "gouv",
        "asso",
        "me",
    }
)


def clean_domain(domain: str) -> str:
    cleaned = domain.strip().lower().lstrip("@").rstrip(".")
    if not _DOMAIN.match(cleaned):
        raise InvalidInput(_("Enter a domain such as example.co.jp."))
    labels = cleaned.split(".")
    if len(labels) == 2 and labels[0] in SHARED_SECOND_LEVEL:
        raise InvalidInput(
            _(
                "%(domain)s is shared by many organizations; enter your own domain under it.",
                domain=cleaned,
            )
        )
    if cleaned in FREE_MAIL_DOMAINS:
        raise InvalidInput(
            _("Anyone can have an address at %(domain)s; it cannot verify members.", domain=cleaned)
        )
    return cleaned


def add_domain_rule(
    organization: Organization, domain: str, *, actor: Person, note: str = ""
) -> tuple[EmailDomainRule, int]:
    """Verify automatically the confirmed addresses at ``domain``; returns the rule and how
    many pending claims it verified at once."""
    _require_decider(actor, organization)
    cleaned = clean_domain(domain)
    exists = db.session.scalar(
        select(EmailDomainRule.id).where(
            EmailDomainRule.organization_id == organization.id, EmailDomainRule.domain == cleaned
        )
    )
    if exists:
        raise InvalidTransition(_("This domain already has a rule."))
    rule = EmailDomainRule(
        organization_id=organization.id, domain=cleaned, created_by_id=actor.id, note=note.strip()
    )
    db.session.add(rule)
    db.session.flush()
    record(
        "domain_rule.add",
        actor=actor,
        subject_type="email_domain_rule",
        subject_id=rule.id,
        organization_id=organization.id,
        domain=cleaned,
    )
    verified = _apply_to_pending(organization)
    db.session.commit()
    return rule, verified


def remove_domain_rule(rule: EmailDomainRule, *, actor: Person) -> None:
    """Stop verifying by this domain; memberships it verified stay until their end."""
    organization = db.session.get(Organization, rule.organization_id)
    assert organization is not None
    _require_decider(actor, organization)
    record(
        "domain_rule.remove",
        actor=actor,
        subject_type="email_domain_rule",
        subject_id=rule.id,
        organization_id=organization.id,
        domain=rule.domain,
    )
    db.session.delete(rule)
    db.session.commit()


# --- LINK-J corporate members and their seats -----------------------------------------------------


def create_company(
    *,
    actor: Person,
    name: str,
    email_domain: str,
    seat_count: int,
    primary_contact: Person,
    valid_until: date | None = None,
) -> Company:
    """Staff record a LINK-J corporate member; its primary contact gets a verified seat."""
    hub = db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.HUB))
    if hub is None or not actor.is_staff:
        raise NotFound(_("Not found."))
    if not name.strip():
        raise InvalidInput(_("Enter the company's name."))
    if seat_count < 1:
        raise InvalidInput(_("A corporate membership has at least one seat."))
    domain = clean_domain(email_domain)
    if not _domain_matches(_email_domain(primary_contact.email_normalized), domain):
        raise InvalidInput(_("The primary contact's address must be at the company's domain."))
    end = valid_until or default_validity_end(hub, today(hub))
    if end < today(hub):
        raise InvalidInput(_("The validity end cannot be in the past."))
    company = Company(
        organization_id=hub.id,
        name=name.strip(),
        email_domain=domain,
        seat_count=seat_count,
        valid_until=end,
        primary_contact=primary_contact,
    )
    db.session.add(company)
    db.session.flush()
    _give_seat(company, primary_contact, actor=actor)
    record(
        "company.create",
        actor=actor,
        subject_type="company",
        subject_id=company.id,
        organization_id=hub.id,
        seats=seat_count,
    )
    db.session.commit()
    return company


def _give_seat(company: Company, person: Person, *, actor: Person | None) -> Membership:
    membership = next(
        (
            m
            for m in person.memberships
            if m.organization_id == company.organization_id and m.status in LIVE_MEMBERSHIP_STATES
        ),
        None,
    )
    if membership is None:
        membership = add_membership_claim(
            person, company.organization, kind=MembershipKind.CORPORATE.value
        )
        db.session.flush()
    elif membership.status == MembershipStatus.VERIFIED and membership.company_id not in (
        None,
        company.id,
    ):
        raise InvalidTransition(_("This person already holds a seat of another company."))
    membership.kind = MembershipKind.CORPORATE.value
    membership.company = company
    if membership.status == MembershipStatus.PENDING:
        _verify(
            membership,
            actor=actor,
            valid_until=company.valid_until
            or default_validity_end(company.organization, today(company.organization)),
            via=VerificationSource.INVITATION,
        )
    return membership


def seats_taken(company: Company) -> int:
    """Seats held (live memberships) plus seats promised (open, unexpired invitations)."""
    held = (
        db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.company_id == company.id,
                Membership.status.in_([s.value for s in LIVE_MEMBERSHIP_STATES]),
            )
        )
        or 0
    )
    promised = (
        db.session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.company_id == company.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
        or 0
    )
    return held + promised


INVITATION_LIFETIME = timedelta(days=14)


def _lock_company(company: Company) -> Company:
    # Seats are a limited resource (ASVS 2.3.3): lock the company row so two invitations
    # or acceptances cannot both take the last seat.
    lock_rows(Company.__table__, [company.id])
    db.session.refresh(company)
    return company


def invite_colleague(company: Company, email: str, *, actor: Person) -> Invitation:
    """The primary contact invites a colleague at the company's domain to a free seat."""
    from portal.accounts import tokens
    from portal.accounts.services import clean_email, normalize_email

    if company.primary_contact_id != actor.id:
        raise NotFound(_("Not found."))
    address = normalize_email(clean_email(email))
    if not _domain_matches(_email_domain(address), company.email_domain):
        raise InvalidInput(
            _("Only addresses at %(domain)s can be invited.", domain=company.email_domain)
        )
    company = _lock_company(company)
    if seats_taken(company) >= company.seat_count:
        raise InvalidTransition(
            _("All %(count)d seats are taken or promised.", count=company.seat_count)
        )
    open_invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.company_id == company.id,
            Invitation.email_normalized == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if open_invitation is not None:
        # An expired one is replaced; a live one is not sent twice.
        if open_invitation.expires_at > utcnow():
            raise InvalidTransition(_("This colleague already has an open invitation."))
        open_invitation.revoked_at = utcnow()
        db.session.flush()
    invitation = Invitation(
        company_id=company.id,
        email_normalized=address,
        invited_by_id=actor.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    token = tokens.make_token("invitation", {"invitation": invitation.id, "email": address})
    queue_mail(
        to=address,
        template="accounts/invitation",
        locale=actor.preferred_locale,
        company=company,
        inviter=actor,
        accept_url=external_url("accounts.accept_invitation", token=token),
        register_url=external_url("accounts.register"),
    )
    record(
        "invitation.create",
        actor=actor,
        subject_type="invitation",
        subject_id=invitation.id,
        organization_id=company.organization_id,
        company=company.id,
    )
    db.session.commit()
    return invitation


def revoke_invitation(invitation: Invitation, *, actor: Person) -> None:
    if invitation.company.primary_contact_id != actor.id and not actor.is_staff:
        raise NotFound(_("Not found."))
    if invitation.accepted_at or invitation.revoked_at:
        raise InvalidTransition(_("This invitation is no longer open."))
    invitation.revoked_at = utcnow()
    db.session.commit()


def invitation_from_token(token: str) -> Invitation:
    from portal.accounts import tokens

    payload = tokens.read_token("invitation", token)
    invitation = db.session.get(Invitation, payload.get("invitation"))
    if invitation is None or invitation.email_normalized != payload.get("email"):
        raise InvalidInput(_("This invitation is not valid."))
    if invitation.accepted_at:
        raise InvalidTransition(_("This invitation was already accepted."))
    if invitation.revoked_at or invitation.expires_at <= utcnow():
        raise InvalidInput(_("This invitation has expired or was withdrawn. Ask for a new one."))
    return invitation


def accept_invitation(token: str, *, person: Person) -> Membership:
    """A colleague signed in with the invited, confirmed address takes the seat."""
    invitation = invitation_from_token(token)
    if person.email_normalized != invitation.email_normalized or not person.email_confirmed:
        raise InvalidInput(
            _(
                "This invitation is for %(email)s. Log in with that confirmed address.",
                email=invitation.email_normalized,
            )
        )
    company = _lock_company(invitation.company)
    if company.valid_until and company.valid_until < today(company.organization):
        raise InvalidTransition(_("The company's membership has ended."))
    membership = _give_seat(company, person, actor=None)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = person.id
    record(
        "invitation.accept",
        actor=person,
        subject_type="invitation",
        subject_id=invitation.id,
        organization_id=company.organization_id,
        membership=membership.id,
    )
    db.session.commit()
    return membership
