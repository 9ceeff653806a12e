"""Rosters: an organization's member list, uploaded as CSV, that verifies the claims it names.

A new upload replaces the previous roster whole. Pending claims it names are verified
(``automatic_verification``); verified members it no longer names are flagged for the
admin to review, not revoked. A file with any bad row changes nothing (rule 10).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from sqlalchemy import insert, select
from sqlalchemy.orm import contains_eager

from portal.accounts.automatic_verification import apply_to_pending
from portal.accounts.memberships import normalize_member_number, require_decider
from portal.accounts.models import (
    Membership,
    MembershipStatus,
    Person,
    RosterEntry,
    RosterUpload,
)
from portal.accounts.queries import latest_roster
from portal.audit.services import record
from portal.csvfile import decode_upload
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Organization

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

#: Problems listed in the refusal; the rest are counted.
SHOWN_PROBLEMS = 20

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
    verified_ids: list[int] = field(default_factory=list)
    flagged_ids: list[int] = field(default_factory=list)
    unflagged_ids: list[int] = field(default_factory=list)
    #: Rows naming someone the previous roster did not, and the previous roster's rows no
    #: longer named (a member number or an address identifies a row).
    new: int = 0
    dropped: int = 0
    #: The roster equals the latest one: no upload was recorded.
    unchanged: bool = False


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


def _rows_of(text: str) -> Iterator[list[str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def _columns(header: Sequence[str]) -> dict[str, int]:
    """Which column holds what, from the titles of the first row."""
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
    return columns


def _cell(row: Sequence[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return row[index].strip() if index is not None and index < len(row) else ""


@dataclass
class _Seen:
    """Member numbers and addresses of the rows read so far, with their lines."""

    numbers: dict[str, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)

    def repeated(self, line: int, number: str | None, email: str | None) -> str | None:
        """The problem if an earlier row has the number or address; else remember them."""
        if number and number in self.numbers:
            return _(
                "Line %(line)d repeats member number %(number)s (first on line %(first)d).",
                line=line,
                number=number,
                first=self.numbers[number],
            )
        if email and email in self.emails:
            return _(
                "Line %(line)d repeats %(email)s (first on line %(first)d).",
                line=line,
                email=email,
                first=self.emails[email],
            )
        if number:
            self.numbers[number] = line
        if email:
            self.emails[email] = line
        return None


def _read_row(
    line: int, cell: Callable[[str], str], organization: Organization, seen: _Seen
) -> RosterRow | str:
    """One member row, or the problem with it."""
    other = cell("organization")
    if other and not _organization_named(other, organization):
        return _("Line %(line)d names another organization (%(name)s).", line=line, name=other)
    number = normalize_member_number(cell("member_number"))
    email = cell("email").lower() or None
    if email and ("@" not in email or " " in email):
        return _("Line %(line)d: “%(email)s” is not an email address.", line=line, email=email)
    if not number and not email:
        return _("Line %(line)d has neither a member number nor an email.", line=line)
    if len(number or "") > _NUMBER_LENGTH or len(email or "") > _EMAIL_LENGTH:
        return _("Line %(line)d: the member number or email is too long.", line=line)
    try:
        valid_until = parse_roster_date(cell("valid_until"))
    except ValueError:
        return _(
            "Line %(line)d: the date “%(value)s” is not like 2027-03-31.",
            line=line,
            value=cell("valid_until"),
        )
    return seen.repeated(line, number, email) or RosterRow(line, number, email, valid_until)


def parse_roster(content: bytes, organization: Organization) -> tuple[list[RosterRow], str]:
    """Read a roster CSV; InvalidInput listing every problem, so nothing half-imports."""
    text, encoding = decode_upload(content)
    reader = _rows_of(text)
    header = next(reader, None)
    if not header:
        raise InvalidInput(_("The file is empty."))
    columns = _columns(header)
    rows: list[RosterRow] = []
    errors: list[str] = []
    seen = _Seen()
    for line, row in enumerate(reader, start=2):
        if not any(value.strip() for value in row):
            continue
        read = _read_row(line, partial(_cell, row, columns), organization, seen)
        if isinstance(read, RosterRow):
            rows.append(read)
        else:
            errors.append(read)
    _refuse_if_any(errors)
    if not rows:
        raise InvalidInput(_("The file has a header but no members."))
    return rows, encoding


def roster_rows(
    records: Sequence[Mapping[str, object]], organization: Organization
) -> list[RosterRow]:
    """Read a roster sent as records (the API's JSON) by the same rule as a CSV's rows; each
    record's ``line`` is its position, from 1. InvalidInput lists every problem."""
    rows: list[RosterRow] = []
    errors: list[str] = []
    seen = _Seen()
    for line, record_ in enumerate(records, start=1):

        def cell(name: str, record_: Mapping[str, object] = record_) -> str:
            value = record_.get(name)
            return "" if value is None else str(value).strip()

        read = _read_row(line, cell, organization, seen)
        if isinstance(read, RosterRow):
            rows.append(read)
        else:
            errors.append(read)
    _refuse_if_any(errors)
    return rows


def _refuse_if_any(errors: list[str]) -> None:
    if errors:
        shown = errors[:SHOWN_PROBLEMS]
        if len(errors) > SHOWN_PROBLEMS:
            shown.append(_("…and %(count)d more problems.", count=len(errors) - SHOWN_PROBLEMS))
        raise InvalidInput(_("Nothing was imported.") + " " + " ".join(shown))


def _flag_the_unlisted(
    organization: Organization, rows: list[RosterRow], result: RosterImport
) -> None:
    """Flag verified members the roster no longer names, and clear the flag of those it
    names again."""
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
        # One statement for thousands of members, not one per member.
        .options(contains_eager(Membership.person))
    ).all()
    for membership in verified:
        listed = membership.person.email_normalized in emails or (
            normalize_member_number(membership.member_number) in numbers
        )
        if listed and membership.missing_from_roster_since:
            membership.missing_from_roster_since = None
            result.unflagged_ids.append(membership.id)
        elif not listed and not membership.missing_from_roster_since:
            membership.missing_from_roster_since = now
            result.flagged_ids.append(membership.id)
    result.flagged = len(result.flagged_ids)
    result.unflagged = len(result.unflagged_ids)


def import_roster(
    organization: Organization, *, actor: Person, filename: str, content: bytes
) -> RosterImport:
    """Replace the organization's roster with an uploaded CSV.

    Pending claims that the roster names are verified; verified members it no longer names
    are flagged for the admin to review (not revoked). All or nothing: a file with any bad
    row changes nothing (InvalidInput lists the rows).
    """
    require_decider(actor, organization)
    rows, encoding = parse_roster(content, organization)
    return _replace_roster(organization, rows, actor=actor, filename=filename, encoding=encoding)


def sync_roster(
    organization: Organization, records: Sequence[Mapping[str, object]], *, actor: Person
) -> RosterImport:
    """Replace the organization's roster with the full current list its system sends (the
    API), by the same rules as an upload. Sending the latest roster again changes nothing."""
    require_decider(actor, organization)
    if not records:
        # As an uploaded file with no members: an empty list is far likelier a fault in the
        # sending system than the end of every membership, which it would flag.
        raise InvalidInput(_("The roster lists no members: nothing was imported."))
    rows = roster_rows(records, organization)
    return _replace_roster(organization, rows, actor=actor, filename="api", encoding="utf-8")


def _identity(member_number: str | None, email: str | None) -> tuple[str, str]:
    return (member_number or "", email or "")


def _replace_roster(
    organization: Organization,
    rows: list[RosterRow],
    *,
    actor: Person,
    filename: str,
    encoding: str,
) -> RosterImport:
    previous = latest_roster(organization)
    before: set[tuple[str, str, date | None]] = set()
    if previous is not None:
        before = {
            (number or "", email or "", valid_until)
            for number, email, valid_until in db.session.execute(
                select(
                    RosterEntry.member_number,
                    RosterEntry.email_normalized,
                    RosterEntry.valid_until,
                ).where(RosterEntry.upload_id == previous.id)
            )
        }
    after = {(r.member_number or "", r.email or "", r.valid_until) for r in rows}
    result = RosterImport(rows=len(rows), encoding=encoding)
    known = {(number, email) for number, email, _until in before}
    listed = {(number, email) for number, email, _until in after}
    result.new = len(listed - known)
    result.dropped = len(known - listed)
    result.unchanged = previous is not None and before == after
    subject_id = previous.id if previous is not None and result.unchanged else None
    if not result.unchanged:
        upload = RosterUpload(
            organization_id=organization.id,
            uploaded_by_id=actor.id,
            filename=filename[:255],
            encoding=encoding,
            row_count=len(rows),
        )
        db.session.add(upload)
        db.session.flush()
        # One bulk INSERT (executemany), kept out of the session: 20,000 entries in the
        # identity map would make every later flush of this transaction walk them all.
        db.session.execute(
            insert(RosterEntry),
            [
                {
                    "upload_id": upload.id,
                    "member_number": r.member_number,
                    "email_normalized": r.email,
                    "valid_until": r.valid_until,
                }
                for r in rows
            ],
        )
        subject_id = upload.id
    result.verified_ids = [m.id for m in apply_to_pending(organization)]
    result.verified = len(result.verified_ids)
    _flag_the_unlisted(organization, rows, result)
    if result.unchanged and not (result.verified or result.flagged or result.unflagged):
        # The same roster again: nothing to write, not even an audit entry.
        db.session.rollback()
        return result
    record(
        "roster.import",
        actor=actor,
        subject_type="roster_upload",
        subject_id=subject_id,
        organization_id=organization.id,
        rows=len(rows),
        verified=result.verified,
        flagged=result.flagged,
        **({"unchanged": True} if result.unchanged else {}),
    )
    db.session.commit()
    return result
