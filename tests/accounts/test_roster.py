"""Member lists (rosters) a partner uploads, as Excel saves them in Japan, the US and Europe.

A roster verifies the pending claims it names (by confirmed address, or by member number on a
row without an address), flags verified members it no longer lists, and is all or nothing:
one bad row and nothing is imported (rule 10).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from portal.accounts import rosters, services
from portal.accounts.memberships import default_validity_end, today
from portal.accounts.models import (
    Membership,
    MembershipStatus,
    Person,
    RosterEntry,
    RosterUpload,
    VerificationSource,
)
from portal.accounts.queries import verification_queue
from portal.db import utcnow
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from tests.factories import audit, count, link_token, org, outbox

pytestmark = pytest.mark.usefixtures("network", "english")

MakePerson = Callable[..., Person]
MakeMembership = Callable[..., Membership]
PartnerAdmin = Callable[[str], Person]

#: A validity end comfortably in the future, in the roster's own spellings.
END = date(today().year + 2, 3, 31)
ISO, SLASHED, KANJI = (
    END.isoformat(),
    f"{END.year}/{END.month:02d}/{END.day:02d}",
    f"{END.year}年{END.month}月{END.day}日",
)


@pytest.fixture
def officer(partner_admin: PartnerAdmin) -> Person:
    """BIOCOM's partner admin, who uploads BIOCOM's roster."""
    return partner_admin("biocom")


@pytest.fixture
def claim(make_person: MakePerson, make_membership: MakeMembership) -> Callable[..., Membership]:
    """``claim(email, member_number=None, confirmed=True)``: a pending BIOCOM claim."""

    def make(email: str, member_number: str | None = None, confirmed: bool = True) -> Membership:
        person = make_person(email, confirmed=confirmed)
        return make_membership(person, "biocom", member_number=member_number)

    return make


def upload(officer: Person, text: str, *, encoding: str = "utf-8", slug: str = "biocom"):
    """Upload ``text`` saved in ``encoding`` as BIOCOM's (or ``slug``'s) roster."""
    return rosters.import_roster(
        org(slug), actor=officer, filename="members.csv", content=text.encode(encoding)
    )


def status(membership: Membership) -> str:
    db.session.refresh(membership)
    return membership.status


def refused(officer: Person, text: str, message: str, encoding: str = "utf-8") -> str:
    """Upload a bad roster: InvalidInput matching ``message``, and no roster row written."""
    with pytest.raises(InvalidInput, match=message) as error:
        upload(officer, text, encoding=encoding)
    assert count(RosterUpload) == 0 and count(RosterEntry) == 0
    return error.value.message


# --- reading the file -----------------------------------------------------------------------


def test_utf8_roster_verifies_a_matching_claim_until_the_rows_date(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("Ken@Lab.example")

    result = upload(officer, f"member_number,email,valid_until\nBC-1,ken@lab.example,{ISO}\n")

    assert (result.rows, result.verified, result.encoding) == (1, 1, "utf-8-sig")
    assert status(membership) == "verified"
    assert membership.verified_via == VerificationSource.ROSTER
    assert membership.valid_until == END
    assert membership.decided_by_id is None  # the roster decided, on the admin's upload
    assert [m.kind for m in outbox()] == ["accounts/membership_verified"]


def test_utf8_roster_with_a_byte_order_mark_is_read(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example", member_number="BC-1")

    # Excel's "CSV UTF-8": the mark sits before the first column's title.
    result = upload(officer, f"\ufeffmember_number,valid_until\r\nBC-1,{ISO}\r\n")

    assert result.encoding == "utf-8-sig"
    assert status(membership) == "verified"


@pytest.mark.parametrize("written", [SLASHED, KANJI, ISO])
def test_shift_jis_roster_with_japanese_headers_is_read(
    officer: Person, claim: Callable[..., Membership], written: str
) -> None:
    by_number = claim("hiro@lab.example", member_number="12345")
    by_email = claim("aoi@lab.example")

    result = upload(
        officer,
        f"会員番号,メールアドレス,有効期限\r\n１２３４５,,{written}\r\nBC-2,AOI@lab.example,{written}\r\n",
        encoding="shift_jis",
    )

    assert (result.encoding, result.rows, result.verified) == ("cp932", 2, 2)
    assert (status(by_number), status(by_email)) == ("verified", "verified")
    assert by_number.valid_until == by_email.valid_until == END
    upload_row = db.session.query(RosterUpload).one()
    assert upload_row.encoding == "cp932"
    assert sorted(e.member_number for e in upload_row.entries) == ["12345", "BC-2"]


def test_cp932_only_characters_are_read(officer: Person, claim: Callable[..., Membership]) -> None:
    membership = claim("aoi@lab.example")

    # ㈱ and ① exist in Microsoft's Shift_JIS (cp932), not in plain Shift_JIS; the name
    # column is not read, but the file must still decode.
    upload(
        officer,
        f"氏名,メールアドレス,有効期限,団体名\r\n㈱ラボ① 青井,aoi@lab.example,{SLASHED},BIOCOM\r\n",
        encoding="cp932",
    )

    assert status(membership) == "verified"


def test_full_width_member_number_in_the_claim_matches_the_roster(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("hiro@lab.example", member_number="ｂｃ－００７")

    upload(officer, "member number,valid until\nBC-007,\n")

    assert status(membership) == "verified"
    assert membership.valid_until == default_validity_end(org("biocom"), today())


def test_semicolon_separated_roster_from_european_excel_is_read(
    partner_admin: PartnerAdmin, make_person: MakePerson, make_membership: MakeMembership
) -> None:
    membership = make_membership(make_person("marie@cluster.example.fr"), "eurobiomed")

    upload(
        partner_admin("eurobiomed"),
        f"email;valid_until;organisation\nmarie@cluster.example.fr;{END:%Y.%m.%d};Eurobiomed\n",
        slug="eurobiomed",
    )

    assert status(membership) == "verified"


def test_file_neither_utf8_nor_shift_jis_is_refused(officer: Person) -> None:
    with pytest.raises(InvalidInput, match="neither UTF-8 nor Shift_JIS"):
        rosters.import_roster(
            org("biocom"), actor=officer, filename="x.csv", content=b"email\n\x81 @x.jp\n"
        )

    assert count(RosterUpload) == 0


# --- who a row verifies ---------------------------------------------------------------------


def test_roster_does_not_verify_an_unconfirmed_address(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example", confirmed=False)

    result = upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    assert result.verified == 0
    assert status(membership) == "pending"
    assert outbox() == []


def test_roster_verifies_when_the_listed_address_is_confirmed_later(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example", confirmed=False)
    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")
    services.resend_confirmation(membership.person)

    services.confirm_email(link_token(outbox("accounts/confirm_email")[0]))

    assert status(membership) == "verified"
    assert membership.valid_until == END


def test_member_number_matches_only_a_row_without_an_address(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example", member_number="BC-9")

    upload(officer, f"member_number,email,valid_until\nBC-9,someone.else@lab.example,{ISO}\n")

    assert status(membership) == "pending"


def test_row_with_an_end_in_the_past_does_not_verify(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example")
    yesterday = today(org("biocom")) - timedelta(days=1)

    upload(officer, f"email,valid_until\nken@lab.example,{yesterday.isoformat()}\n")

    assert status(membership) == "pending"


def test_later_claim_of_a_listed_member_is_verified_at_once(
    officer: Person, make_person: MakePerson
) -> None:
    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    membership = services.claim_membership(make_person("ken@lab.example"), org("biocom"))

    assert membership.status == MembershipStatus.VERIFIED
    assert membership.verified_via == VerificationSource.ROSTER


def test_roster_of_biocom_verifies_no_claim_in_another_organization(
    officer: Person, make_person: MakePerson, make_membership: MakeMembership
) -> None:
    elsewhere = make_membership(make_person("ken@lab.example"), "ucsd")

    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    assert status(elsewhere) == "pending"


def test_import_is_audited(officer: Person, claim: Callable[..., Membership]) -> None:
    claim("ken@lab.example")

    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\nmika@lab.example,{ISO}\n")

    [entry] = audit("roster.import")
    assert (entry.actor_id, entry.organization_id) == (officer.id, org("biocom").id)
    assert entry.details == {"rows": 2, "verified": 1, "flagged": 0}
    [decision] = audit("membership.verify")
    assert decision.actor_id is None
    assert decision.details["via"] == "roster"


# --- bad files change nothing ---------------------------------------------------------------


def test_roster_with_unknown_columns_is_refused_listing_the_headers_found(
    officer: Person,
) -> None:
    message = refused(officer, "name,mail_addr,until\nKen,ken@lab.example,2027-03-31\n", "Found")

    assert "name, mail_addr, until" in message


def test_row_naming_another_organization_is_refused(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example")

    message = refused(
        officer,
        f"email,valid_until,organization\nken@lab.example,{ISO},BIOCOM\nmika@lab.example,{ISO},UCSD\n",
        "another organization",
    )

    assert "Line 3" in message and "UCSD" in message
    assert status(membership) == "pending"


def test_duplicate_addresses_differing_only_in_case_are_refused(officer: Person) -> None:
    message = refused(
        officer,
        f"email,valid_until\nKen@Lab.example,{ISO}\nmika@lab.example,{ISO}\nken@lab.EXAMPLE,{ISO}\n",
        "repeats",
    )

    assert "Line 4" in message and "first on line 2" in message


def test_duplicate_member_numbers_after_normalising_are_refused(officer: Person) -> None:
    refused(officer, "会員番号\nＢＣ－１\nbc-1\n", "Line 3 repeats member number BC-1")


@pytest.mark.parametrize("bad_date", ["2027/02/30", "31.03.2027", "next March", "2027-13-01"])
def test_bad_date_is_refused_with_its_line_number(
    officer: Person, claim: Callable[..., Membership], bad_date: str
) -> None:
    membership = claim("mika@lab.example")

    message = refused(
        officer,
        f"email,valid_until\nmika@lab.example,{ISO}\nken@lab.example,{bad_date}\n",
        "Line 3: the date",
    )

    assert bad_date in message
    assert status(membership) == "pending"  # the good row did not half-import


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty"),
        ("email,valid_until\n", "no members"),
        ("email,valid_until\n,2027-03-31\n", "Line 2 has neither"),
        ("email\nnot-an-address\n", "is not an email address"),
    ],
)
def test_empty_or_unidentifying_rosters_are_refused(
    officer: Person, text: str, message: str
) -> None:
    refused(officer, text, message)


def test_partner_admin_cannot_upload_another_organizations_roster(
    partner_admin: PartnerAdmin, claim: Callable[..., Membership]
) -> None:
    membership = claim("ken@lab.example")

    with pytest.raises(NotFound):
        upload(partner_admin("ucsd"), f"email,valid_until\nken@lab.example,{ISO}\n")

    assert count(RosterUpload) == 0
    assert status(membership) == "pending"


def test_staff_cannot_upload_a_partners_roster(
    staff: Person, claim: Callable[..., Membership]
) -> None:
    with pytest.raises(NotFound):
        upload(staff, f"email,valid_until\nken@lab.example,{ISO}\n")

    assert count(RosterUpload) == 0


# --- members who drop off the roster --------------------------------------------------------


def test_later_upload_flags_a_verified_member_no_longer_listed_and_clears_it_when_back(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    ken, mika = claim("ken@lab.example"), claim("mika@lab.example", member_number="BC-5")
    both = f"member_number,email,valid_until\n,ken@lab.example,{ISO}\nBC-5,,{ISO}\n"
    upload(officer, both)
    assert (status(ken), status(mika)) == ("verified", "verified")

    dropped = upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    db.session.refresh(mika)
    assert dropped.flagged == 1
    assert mika.status == "verified"  # flagged for the admin, not revoked
    assert mika.missing_from_roster_since is not None
    assert ken.missing_from_roster_since is None
    flagged = verification_queue(org("biocom"), status="flagged").items
    assert [m.id for m in flagged] == [mika.id]

    back = upload(officer, both)

    db.session.refresh(mika)
    assert (back.flagged, back.unflagged) == (0, 1)
    assert mika.missing_from_roster_since is None


def test_flag_is_kept_not_renewed_by_further_uploads(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    mika = claim("mika@lab.example")
    upload(officer, f"email,valid_until\nmika@lab.example,{ISO}\n")
    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")
    db.session.refresh(mika)
    first_flag = mika.missing_from_roster_since

    again = upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    db.session.refresh(mika)
    assert again.flagged == 0
    assert mika.missing_from_roster_since == first_flag


def test_member_number_on_a_row_with_another_address_does_not_keep_a_member_listed(
    officer: Person, claim: Callable[..., Membership]
) -> None:
    mika = claim("mika@lab.example", member_number="BC-5")
    upload(officer, f"member_number,email,valid_until\nBC-5,,{ISO}\n")
    assert status(mika) == "verified"

    # BC-5 now belongs to a row with another person's address: by the matching rule it no
    # longer names Mika, so she must be flagged like any member who dropped off.
    upload(officer, f"member_number,email,valid_until\nBC-5,taken.over@lab.example,{ISO}\n")

    db.session.refresh(mika)
    assert mika.missing_from_roster_since is not None


def test_verified_member_of_another_organization_is_never_flagged(
    officer: Person, make_person: MakePerson, make_membership: MakeMembership
) -> None:
    elsewhere = make_membership(
        make_person(), "ucsd", status="verified", valid_until=today() + timedelta(days=9)
    )

    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    db.session.refresh(elsewhere)
    assert elsewhere.missing_from_roster_since is None


def test_roster_upload_records_who_and_when(officer: Person) -> None:
    before = utcnow()

    upload(officer, f"email,valid_until\nken@lab.example,{ISO}\n")

    row = db.session.query(RosterUpload).one()
    assert (row.uploaded_by_id, row.filename, row.row_count) == (officer.id, "members.csv", 1)
    assert row.uploaded_at >= before
