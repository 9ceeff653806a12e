"""The role matrix: the cast (anonymous, members, partner admins of BIOCOM and UCSD, staff, an
admin), actions aimed at BIOCOM's records, one check of each outcome, and the parametrisation
that builds the read-only cases' world once per module.

A case is *read-only* unless it is a POST its role is allowed to make. Read-only cases of a
module share one network and cast, built by the first of them (``SharedWorld``); the database
is emptied before any other test runs, and a read-only case that writes anyway fails, naming
what it wrote (and the world is built again), so sharing can never leak from one case into the
next. Write cases each build their own world, as every other test does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event as sqlalchemy_event
from werkzeug.test import TestResponse

from portal.accounts.models import (
    EmailDomainRule,
    Membership,
    MembershipStatus,
    Person,
    Role,
    VerificationSource,
)
from portal.accounts.services import grant_role
from portal.extensions import db
from portal.organizations.models import Organization, ReciprocalService
from tests.factories import (
    add_codes,
    add_member,
    add_membership,
    add_person,
    add_role,
    add_service,
    org,
    session_id_for,
)

World = TypeVar("World")

#: The roles of the management pages' matrix, least privileged first.
ROLES = (
    "anonymous",
    "unverified_member",
    "verified_member",
    "biocom_admin",
    "ucsd_admin",
    "staff",
    "admin",
)
#: Marks a role-matrix case that changes nothing (see the module's docstring).
read_only = pytest.mark.read_only


def login(client: FlaskClient, person: Person | None) -> None:
    """Sign the client in as ``person`` (None: stay anonymous) with a new session record."""
    if person is None:
        return
    session_id = session_id_for(person)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


# --- the cast -----------------------------------------------------------------------------------


@dataclass
class Cast:
    hub: Organization
    biocom: Organization
    ucsd: Organization
    #: Has a pending BIOCOM claim; the record most actions target.
    claimant: Person
    pending: Membership
    #: A verified BIOCOM member, target of revocation.
    verified_member: Person
    verified: Membership
    #: Logged in, with a BIOCOM claim still pending.
    unverified_member: Person
    biocom_admin: Person
    ucsd_admin: Person
    staff: Person
    admin: Person
    #: A second staff member, whose role the admin removes.
    colleague: Person
    #: Has an account at a company's domain, to become a corporate member's primary contact.
    company_contact: Person
    #: BIOCOM's email-domain rule.
    rule: EmailDomainRule

    def by_role(self, role: str) -> Person | None:
        return None if role == "anonymous" else getattr(self, role)


def build_cast() -> Cast:
    """The people of the management stories, in the seeded network."""
    hub, biocom, ucsd = org("link-j"), org("biocom"), org("ucsd")

    claimant = add_person(
        "hanako.sato@biocom-member.org",
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        affiliation="Sato Therapeutics",
    )
    claimant.romanized_name = "Hanako Sato"
    pending = add_membership(claimant, biocom, member_number="B-1001")

    verified_member = add_person(
        "jane.doe@example.edu", family_name="Doe", given_name="Jane", affiliation="UCSD Lab"
    )
    verified = add_membership(
        verified_member,
        biocom,
        status=MembershipStatus.VERIFIED,
        verified_via=VerificationSource.MANUAL,
    )

    unverified_member = add_person("wait.ing@example.com", family_name="Ing", given_name="Wait")
    add_membership(unverified_member, biocom)

    def person(email: str, family_name: str, given_name: str) -> Person:
        return add_person(email, family_name=family_name, given_name=given_name)

    biocom_admin = person("admin@biocom.org", "Admin", "Biocom")
    ucsd_admin = person("admin@ucsd.edu", "Admin", "Ucsd")
    staff = person("staff@link-j.org", "鈴木", "一郎")
    admin = person("root@link-j.org", "Root", "Admin")
    colleague = person("colleague@link-j.org", "Colleague", "Staff")
    company_contact = person("kenji@acme-pharma.co.jp", "田中", "健二")

    grant_role(biocom_admin, Role.PARTNER_ADMIN, actor=None, organization=biocom)
    grant_role(ucsd_admin, Role.PARTNER_ADMIN, actor=None, organization=ucsd)
    grant_role(staff, Role.STAFF, actor=None)
    grant_role(admin, Role.ADMIN, actor=None)
    grant_role(colleague, Role.STAFF, actor=None)

    rule = EmailDomainRule(organization_id=biocom.id, domain="biocom-staff.org", note="staff")
    db.session.add(rule)
    db.session.commit()

    return Cast(
        hub=hub,
        biocom=biocom,
        ucsd=ucsd,
        claimant=claimant,
        pending=pending,
        verified_member=verified_member,
        verified=verified,
        unverified_member=unverified_member,
        biocom_admin=biocom_admin,
        ucsd_admin=ucsd_admin,
        staff=staff,
        admin=admin,
        colleague=colleague,
        company_contact=company_contact,
        rule=rule,
    )


# --- the benefit stories' cast ------------------------------------------------------------


@dataclass
class Story:
    hub: Organization
    one_nucleus: Organization
    biocom: Organization
    #: Verified LINK-J member.
    taro: Person
    taro_membership: Membership
    #: LINK-J member whose claim is still pending verification.
    pending_member: Person
    #: Verified One Nucleus member.
    alice: Person
    #: One Nucleus → LINK-J: approval, once a year, a code from a pool of three.
    member_rate: ReciprocalService
    #: BIOCOM → LINK-J: granted at once, twice a year, instructions.
    introductions: ReciprocalService
    #: UCSD → LINK-J: one code for everyone, no limit.
    digest: ReciprocalService
    #: LINK-J → One Nucleus: approval (by LINK-J's staff), once a quarter.
    desk_day: ReciprocalService
    one_nucleus_admin: Person
    biocom_admin: Person
    ucsd_admin: Person
    staff: Person
    admin: Person


def build_story() -> Story:
    """LINK-J's member Taro claims from One Nucleus (a member rate needing approval, paid out as a
    code from a pool), BIOCOM (introductions, granted at once, twice a year) and UCSD (a digest
    with one shared code); One Nucleus's member Alice may ask for a desk day at LINK-J, which
    LINK-J's staff decide."""
    hub, one_nucleus, biocom = org("link-j"), org("one-nucleus"), org("biocom")
    taro, taro_membership = add_member(
        "link-j", email="taro.yamada@nihonbashi-pharma.example", given_name="太郎"
    )
    taro.romanized_name = "Taro Yamada"
    pending_member, _ = add_member("link-j", status=MembershipStatus.PENDING, given_name="待")
    alice, _ = add_member(
        "one-nucleus", email="alice@cambridge-bio.example", family_name="Smith", given_name="Alice"
    )
    member_rate = add_service(
        "link-j-one-nucleus-2017",
        "one-nucleus",
        title_en="Member rate at Genesis",
        title_ja="Genesis会員価格",
        requires_approval=True,
        limit_per_member=1,
        limit_period="year",
        redemption="code_pool",
        redemption_instructions_en="Enter the code at checkout.",
        redemption_instructions_ja="お支払い画面でコードを入力してください。",
    )
    add_codes(member_rate, "ON-0001", "ON-0002", "ON-0003")
    introductions = add_service(
        "link-j-biocom-2016",
        "biocom",
        title_en="Introductions to BIOCOM members",
        title_ja="BIOCOM会員の紹介",
        limit_per_member=2,
        limit_period="year",
        redemption_instructions_en="Write to intros@biocom.example.",
    )
    digest = add_service(
        "link-j-ucsd-2016",
        "ucsd",
        category="publications",
        title_en="UCSD research digest",
        redemption="shared_code",
        shared_code="UCSD-LINKJ",
    )
    desk_day = add_service(
        "link-j-one-nucleus-2017",
        "link-j",
        title_en="Desk day in Nihonbashi",
        title_ja="日本橋デスク利用",
        requires_approval=True,
        limit_per_member=1,
        limit_period="quarter",
    )
    one_nucleus_admin = add_role(
        add_person("officer@onenucleus.example", family_name="Jones", given_name="Olivia"),
        Role.PARTNER_ADMIN,
        one_nucleus,
    )
    biocom_admin = add_role(
        add_person("officer@biocom.example", family_name="Rivera", given_name="Sam"),
        Role.PARTNER_ADMIN,
        biocom,
    )
    ucsd_admin = add_role(
        add_person("officer@ucsd.example", family_name="Chen", given_name="Lee"),
        Role.PARTNER_ADMIN,
        org("ucsd"),
    )
    staff = add_role(
        add_person("secretariat@link-j.example", family_name="佐藤", given_name="花子"), Role.STAFF
    )
    admin = add_role(
        add_person("root@link-j.example", family_name="Root", given_name="Admin"), Role.ADMIN
    )
    return Story(
        hub=hub,
        one_nucleus=one_nucleus,
        biocom=biocom,
        taro=taro,
        taro_membership=taro_membership,
        pending_member=pending_member,
        alice=alice,
        member_rate=member_rate,
        introductions=introductions,
        digest=digest,
        desk_day=desk_day,
        one_nucleus_admin=one_nucleus_admin,
        biocom_admin=biocom_admin,
        ucsd_admin=ucsd_admin,
        staff=staff,
        admin=admin,
    )


# --- actions and outcomes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One page or POST action, aimed at records of the world ``url``, ``data`` and ``done``
    are given (a ``Cast``, or an area's scene built on it)."""

    name: str
    method: str
    url: Callable[[Any], str]
    data: Callable[[Any], dict[str, Any]] = field(default=lambda c: {})
    #: For POSTs: whether the action's change is in the database (it must be when allowed,
    #: and must not be when refused).
    done: Callable[[Any], bool] | None = None
    multipart: bool = False
    #: The answer when allowed: pages 200; POSTs redirect (302) unless told otherwise.
    allowed_status: int = 302


def take(client: FlaskClient, world: Any, action: Action) -> TestResponse:
    """Take the action as the signed-in client, in English."""
    if action.method == "GET":
        return client.get(action.url(world), headers={"Accept-Language": "en"})
    return client.post(
        action.url(world),
        data=action.data(world),
        headers={"Accept-Language": "en"},
        content_type="multipart/form-data" if action.multipart else None,
    )


def check_outcome(
    client: FlaskClient, world: Any, action: Action, expected: str | int, *, area: str = "/admin/"
) -> None:
    """Take the action and check the answer: "login" (redirected to sign in), "allowed" (200
    for a page, done and redirected into ``area`` for a POST) or a status code."""
    response = take(client, world, action)
    if expected == "login":
        assert response.status_code == 302
        assert urlsplit(response.location).path == "/login"
    elif expected == "allowed" and action.method == "GET":
        assert response.status_code == 200, text(response)[:2000]
    elif expected == "allowed":
        assert response.status_code == action.allowed_status, text(response)[:3000]
        if action.allowed_status == 302:
            assert urlsplit(response.location).path.startswith(area)
    else:
        assert response.status_code == expected, text(response)[:2000]
    check_done(world, action, expected)


def check_done(world: Any, action: Action, expected: str | int) -> None:
    if action.done is not None:
        assert action.done(world) is (expected == "allowed")


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def outcomes(
    actions: Iterable[Action], allowed: set[str], not_found: set[str] = frozenset()
) -> dict[str, str | int]:
    """Each action "allowed", 404 or (everything else) 403."""
    return {
        a.name: "allowed" if a.name in allowed else 404 if a.name in not_found else 403
        for a in actions
    }


def matrix(
    actions: Iterable[Action],
    expected: Mapping[str, Mapping[str, str | int]],
    *,
    writes: Callable[[Action, str | int], bool] | None = None,
) -> list[Any]:
    """The ``("role", "action")`` cases of a matrix, read-only ones marked ``read_only``.

    ``writes`` says which cases change the database; by default the POSTs a role is allowed.
    """
    writes = writes or (lambda action, outcome: action.method != "GET" and outcome == "allowed")
    actions = list(actions)
    return [
        pytest.param(
            role,
            action,
            id=f"{role}-{action.name}",
            marks=() if writes(action, outcomes_[action.name]) else (read_only,),
        )
        for action in actions
        for role, outcomes_ in expected.items()
    ]


# --- the world the read-only cases share --------------------------------------------------------

_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE)\b", re.IGNORECASE)
#: Signing a case's client in writes its session record (rule 15), and a request may touch that
#: record's last_seen_at: the sign-in's bookkeeping, not the action's change, so it is allowed.
_SIGN_IN_BOOKKEEPING = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE)\s+\"?login_session\"?\s", re.IGNORECASE
)


@contextmanager
def writes_recorded() -> Iterator[list[str]]:
    """The statements inside the block that change the database (whoever's session sent them)."""
    written: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _WRITE.match(statement) and not _SIGN_IN_BOOKKEEPING.match(statement):
            written.append(statement)

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield written
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)


class SharedWorld:
    """The one world the database holds for read-only cases, and which builder made it."""

    def __init__(self) -> None:
        self.builder: Callable[[], Any] | None = None
        self.world: Any = None
        #: The writes the running read-only case is checked for (building the world is not one).
        self.recording: list[str] | None = None

    @property
    def present(self) -> bool:
        return self.builder is not None

    def forget(self) -> None:
        self.builder = None
        self.world = None

    def provide(
        self, build: Callable[[], World], empty: Callable[[], None], seed: Callable[[], None]
    ) -> World:
        if self.builder is not build:
            empty()
            self.forget()
            seed()
            world = build()
            db.session.commit()
            self.builder, self.world = build, world
            if self.recording is not None:
                self.recording.clear()
        reattach(self.world)
        return self.world


def reattach(world: Any) -> None:
    """Put the world's rows, kept from an earlier test's session, into this test's session."""
    for instance in _instances(world):
        db.session.add(instance)


def _instances(value: Any) -> Iterator[Any]:
    if hasattr(value, "_sa_instance_state"):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _instances(getattr(value, item.name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _instances(item)
