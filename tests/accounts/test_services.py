"""People: registration, confirmation, sign-in, passwords, addresses, roles, export, deletion.

Each test calls the service the pages and commands call, then reads the database: the rows it
wrote, the mail it queued (rule 8) and the audit entries it left (rule 7). Refusals must raise
the right DomainError with a clear message and change nothing (rule 10).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select

from portal.accounts import (
    companies,
    memberships,
    passwords,
    profile,
    services,
    sessions,
    tokens,
)
from portal.accounts.models import (
    Invitation,
    Membership,
    MembershipStatus,
    Person,
    Role,
    RoleGrant,
)
from portal.accounts.services import Registration
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus
from tests.factories import (
    PASSWORD,
    audit,
    count,
    link_token,
    links_signed_ago,
    org,
    outbox,
    session_id_for,
)

pytestmark = pytest.mark.usefixtures("network", "english")

MakePerson = Callable[..., Person]
NEW_PASSWORD = "Kobe-Biomedical-Cluster-344"


def registration(**changes: object) -> Registration:
    """A BIOCOM member registering, as the form would pass it."""
    fields: dict[str, object] = {
        "email": "Hanako.Sato@biocom-member.example",
        "password": PASSWORD,
        "family_name": "佐藤",
        "given_name": "花子",
        "home_organization_id": org("biocom").id,
        "member_number": "BC-1001",
        "locale": "ja",
    }
    fields.update(changes)
    return Registration(**fields)  # type: ignore[arg-type]


def nothing_was_created() -> bool:
    return count(Person) == 0 and count(Membership) == 0 and count(OutboxMessage) == 0


@pytest.fixture
def commits() -> Iterator[list[None]]:
    """One item per commit of the test's database session while the test runs."""
    seen: list[None] = []
    session = db.session()

    def on_commit(_session: object) -> None:
        seen.append(None)

    event.listen(session, "after_commit", on_commit)
    yield seen
    event.remove(session, "after_commit", on_commit)


# --- registration ---------------------------------------------------------------------------


def test_registration_creates_a_person_with_a_pending_membership_and_a_confirmation_mail() -> None:
    person = services.register_person(registration())

    assert person is not None
    assert person.email == "Hanako.Sato@biocom-member.example"
    assert person.email_normalized == "hanako.sato@biocom-member.example"
    assert not person.email_confirmed
    [membership] = person.memberships
    assert membership.organization_id == org("biocom").id
    assert membership.status == MembershipStatus.PENDING
    assert membership.member_number == "BC-1001"
    [mail] = outbox()
    assert mail.kind == "accounts/confirm_email"
    assert mail.to_address == person.email
    assert mail.person_id == person.id
    assert mail.status == OutboxStatus.QUEUED


def test_registration_writes_person_membership_and_mail_in_one_commit(
    commits: list[None],
) -> None:
    services.register_person(registration())

    assert len(commits) == 1
    assert (count(Person), count(Membership), count(OutboxMessage)) == (1, 1, 1)


@pytest.mark.parametrize(
    "again",
    [
        "Hanako.Sato@biocom-member.example",
        "hanako.sato@biocom-member.example",
        "HANAKO.SATO@BIOCOM-MEMBER.EXAMPLE",
        "  hAnAkO.sAtO@Biocom-Member.Example ",
    ],
)
def test_registering_a_taken_address_in_any_letter_case_creates_nothing_and_tells_its_owner(
    again: str,
) -> None:
    owner = services.register_person(registration())
    assert owner is not None

    result = services.register_person(
        registration(email=again, family_name="Intruder", password="Another-pass-4242")
    )

    assert result is None  # the page says "check your email" either way
    assert count(Person) == 1 and count(Membership) == 1
    [notice] = outbox("accounts/already_registered")
    assert notice.to_address == owner.email
    assert notice.person_id == owner.id
    db.session.refresh(owner)
    assert owner.family_name == "佐藤"
    assert passwords.verify_password(owner.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123", "most common"),
        ("Short-1", "at least 10 characters"),
        ("hanako.sato", "email address"),
        ("x" * 129, "at most 128 characters"),
    ],
)
def test_registration_with_a_weak_password_is_refused_and_creates_nothing(
    password: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        services.register_person(registration(password=password))

    assert nothing_was_created()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "valid email address"),
        ({"family_name": "  "}, "family name and given name"),
        ({"home_organization_id": 999_999}, "home organization"),
        ({"membership_kind": "honorary"}, "corporate or individual"),
    ],
)
def test_registration_with_bad_input_is_refused_and_creates_nothing(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        services.register_person(registration(**changes))

    assert nothing_was_created()


def test_password_is_stored_as_an_argon2id_hash_never_in_clear() -> None:
    person = services.register_person(registration())
    assert person is not None

    stored = db.session.scalar(select(Person.password_hash).where(Person.id == person.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert passwords.verify_password(stored, PASSWORD)


def test_a_refusal_outside_any_request_still_says_why(app: Flask) -> None:
    """Commands and workers call services with no request: the refusal must still render."""
    form = registration(password="password123")

    # A fresh context, as `portal users create-admin` gets one.
    with app.app_context(), pytest.raises(InvalidInput, match="most common"):
        services.register_person(form)


# --- email confirmation ---------------------------------------------------------------------


def registered_with_link() -> tuple[Person, str]:
    person = services.register_person(registration())
    assert person is not None
    return person, link_token(outbox("accounts/confirm_email")[-1])


def test_confirmation_link_from_the_mail_confirms_the_address() -> None:
    person, token = registered_with_link()

    confirmed = services.confirm_email(token)

    assert confirmed.id == person.id
    db.session.refresh(person)
    assert person.email_confirmed_at is not None


def test_confirmation_link_works_only_once() -> None:
    person, token = registered_with_link()
    services.confirm_email(token)
    first_confirmation = person.email_confirmed_at

    with pytest.raises(InvalidTransition, match="already used"):
        services.confirm_email(token)

    db.session.refresh(person)
    assert person.email_confirmed_at == first_confirmation


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        lambda token: token.replace(".", ".x", 1),
        lambda token: "",
        # A valid reset link replayed as a confirmation link: the purpose is part of the key.
        lambda token: tokens.make_token("reset-password", {"person": 1, "version": 1}),
    ],
    ids=["bad-signature", "tampered-payload", "empty", "other-purpose"],
)
def test_forged_confirmation_link_is_refused(forge: Callable[[str], str]) -> None:
    person, token = registered_with_link()

    with pytest.raises(InvalidInput, match="not valid"):
        services.confirm_email(forge(token))

    db.session.refresh(person)
    assert not person.email_confirmed


def test_confirmation_link_older_than_two_days_has_expired() -> None:
    with links_signed_ago(timedelta(days=2, minutes=1)):
        person, token = registered_with_link()

    with pytest.raises(InvalidInput, match="expired"):
        services.confirm_email(token)

    db.session.refresh(person)
    assert not person.email_confirmed


def test_confirmation_link_just_under_two_days_old_still_works() -> None:
    with links_signed_ago(timedelta(days=2) - timedelta(minutes=1)):
        person, token = registered_with_link()

    services.confirm_email(token)

    assert person.email_confirmed


def test_confirmation_link_for_an_address_since_changed_is_refused() -> None:
    person, old_link = registered_with_link()
    profile.request_email_change(person, new_email="hanako@lab.example", password=PASSWORD)
    profile.confirm_email_change(link_token(outbox("accounts/confirm_new_email")[-1]))
    person.email_confirmed_at = None  # the old address's link must not confirm the new one
    db.session.commit()

    with pytest.raises(InvalidInput, match="not valid any more"):
        services.confirm_email(old_link)

    db.session.refresh(person)
    assert person.email_confirmed_at is None


# --- signing in -----------------------------------------------------------------------------


def test_person_signs_in_with_the_right_password(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")

    assert services.authenticate("ken@biocom-member.example", PASSWORD) is person
    assert person.last_login_at is None  # proving the password is not yet a sign-in
    sessions.sign_in(person, remember=False)
    assert person.last_login_at is not None


def test_sign_in_ignores_the_letter_case_of_the_address(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")

    assert services.authenticate("  KEN@Biocom-Member.Example ", PASSWORD) is person


def test_wrong_password_does_not_sign_in(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")

    assert services.authenticate("ken@biocom-member.example", PASSWORD + "x") is None
    assert person.last_login_at is None


@pytest.mark.parametrize("email", ["nobody@biocom-member.example", "", "   "])
def test_unknown_address_does_not_sign_in(make_person: MakePerson, email: str) -> None:
    make_person("ken@biocom-member.example")

    assert services.authenticate(email, PASSWORD) is None


def test_deleted_account_cannot_sign_in(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")
    services.delete_account(person, password=PASSWORD)

    assert services.authenticate("ken@biocom-member.example", PASSWORD) is None
    assert services.authenticate(f"deleted-{person.id}@invalid", PASSWORD) is None
    assert services.authenticate(f"deleted-{person.id}@invalid", "") is None


def test_session_id_names_a_session_record(make_person: MakePerson) -> None:
    person = make_person()

    assert sessions.load_person_for_session(session_id_for(person)) is person


def test_an_ended_session_record_ends_its_cookie_only(make_person: MakePerson) -> None:
    person = make_person()
    old_session = session_id_for(person)
    other_session = session_id_for(person)
    sessions.log_out(sessions.load_person_for_session(old_session))

    assert sessions.load_person_for_session(old_session) is None
    assert sessions.load_person_for_session(other_session) is person


@pytest.mark.parametrize(
    "session_id", ["", "abc", "1", "1:", ":1", "1:x", "-1:1", "99999:1", "1:1", "1:1:1"]
)
def test_malformed_or_unknown_session_ids_load_nobody(
    make_person: MakePerson, session_id: str
) -> None:
    make_person()

    assert sessions.load_person_for_session(session_id) is None


def test_deleted_persons_session_loads_nobody(make_person: MakePerson) -> None:
    person = make_person()
    session_id = session_id_for(person)
    person.deleted_at = utcnow()  # even without the version bump delete_account also does
    db.session.commit()

    assert sessions.load_person_for_session(session_id) is None


# --- password reset -------------------------------------------------------------------------


def reset_link_for(person: Person) -> str:
    services.request_password_reset(person.email, locale="en")
    return link_token(outbox("accounts/reset_password")[-1])


def test_reset_request_mails_a_link_to_the_account(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")

    services.request_password_reset("KEN@biocom-member.example", locale="en")

    [mail] = outbox()
    assert mail.kind == "accounts/reset_password"
    assert mail.to_address == "ken@biocom-member.example"
    assert mail.person_id == person.id


def test_reset_request_for_an_unknown_address_queues_nothing_and_raises_nothing(
    make_person: MakePerson,
) -> None:
    make_person("ken@biocom-member.example")

    services.request_password_reset("nobody@biocom-member.example", locale="en")

    assert outbox() == []


def test_reset_link_sets_the_new_password_and_ends_other_sessions(
    make_person: MakePerson,
) -> None:
    person = make_person("ken@biocom-member.example")
    other_session = session_id_for(person)
    token = reset_link_for(person)

    services.reset_password(token, NEW_PASSWORD)

    assert services.authenticate(person.email, NEW_PASSWORD) is person
    assert services.authenticate(person.email, PASSWORD) is None
    assert sessions.load_person_for_session(other_session) is None


def test_reset_link_works_only_once(make_person: MakePerson) -> None:
    person = make_person()
    token = reset_link_for(person)
    services.reset_password(token, NEW_PASSWORD)

    with pytest.raises(InvalidInput, match="already used"):
        services.reset_password(token, "Yet-another-pass-2018")

    assert services.authenticate(person.email, NEW_PASSWORD) is person


def test_an_older_reset_link_stops_working_once_a_newer_one_is_used(
    make_person: MakePerson,
) -> None:
    person = make_person()
    older, newer = reset_link_for(person), reset_link_for(person)
    services.reset_password(newer, NEW_PASSWORD)

    with pytest.raises(InvalidInput, match="already used"):
        services.check_reset_token(older)


def test_reset_link_older_than_an_hour_has_expired(make_person: MakePerson) -> None:
    person = make_person()
    with links_signed_ago(timedelta(hours=1, seconds=5)):
        token = reset_link_for(person)
    version = person.session_version

    with pytest.raises(InvalidInput, match="expired"):
        services.reset_password(token, NEW_PASSWORD)

    db.session.refresh(person)
    assert passwords.verify_password(person.password_hash, PASSWORD)
    assert person.session_version == version


def test_reset_to_a_weak_password_is_refused_and_the_link_still_works(
    make_person: MakePerson,
) -> None:
    person = make_person()
    token = reset_link_for(person)

    with pytest.raises(InvalidInput, match="most common"):
        services.reset_password(token, "password123")

    db.session.refresh(person)
    assert passwords.verify_password(person.password_hash, PASSWORD)
    assert services.check_reset_token(token) is person


def test_reset_link_proves_an_unconfirmed_address(make_person: MakePerson) -> None:
    person = make_person(confirmed=False)

    services.reset_password(reset_link_for(person), NEW_PASSWORD)

    assert person.email_confirmed


# --- changing the password ------------------------------------------------------------------


def test_change_password_needs_the_current_password(make_person: MakePerson) -> None:
    person = make_person()
    version = person.session_version

    with pytest.raises(InvalidInput, match="current password is not correct"):
        services.change_password(
            person, current_password="guess-1234567", new_password=NEW_PASSWORD
        )

    db.session.refresh(person)
    assert passwords.verify_password(person.password_hash, PASSWORD)
    assert person.session_version == version
    assert outbox() == []


def test_change_password_ends_other_sessions_and_tells_the_person(
    make_person: MakePerson,
) -> None:
    person = make_person()
    old_session = session_id_for(person)

    services.change_password(person, current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert services.authenticate(person.email, NEW_PASSWORD) is person
    assert sessions.load_person_for_session(old_session) is None
    [mail] = outbox()
    assert (mail.kind, mail.to_address) == ("accounts/password_changed", person.email)


def test_change_to_a_weak_password_is_refused(make_person: MakePerson) -> None:
    person = make_person()

    with pytest.raises(InvalidInput, match="at least 10"):
        services.change_password(person, current_password=PASSWORD, new_password="short")

    db.session.refresh(person)
    assert passwords.verify_password(person.password_hash, PASSWORD)
    assert outbox() == []


# --- changing the address -------------------------------------------------------------------


def test_new_address_is_pending_until_confirmed(make_person: MakePerson) -> None:
    person = make_person("ken@old-lab.example")

    profile.request_email_change(person, new_email="Ken@New-Lab.example", password=PASSWORD)

    db.session.refresh(person)
    assert person.email == "ken@old-lab.example"
    assert person.pending_email == "Ken@new-lab.example"
    assert services.authenticate("ken@new-lab.example", PASSWORD) is None
    confirm, notice = outbox()
    assert (confirm.kind, confirm.to_address) == (
        "accounts/confirm_new_email",
        "Ken@new-lab.example",
    )
    assert (notice.kind, notice.to_address) == (
        "accounts/email_change_requested",
        "ken@old-lab.example",
    )


def test_following_the_link_switches_the_address(make_person: MakePerson) -> None:
    person = make_person("ken@old-lab.example")
    profile.request_email_change(person, new_email="ken@new-lab.example", password=PASSWORD)

    profile.confirm_email_change(link_token(outbox("accounts/confirm_new_email")[0]))

    db.session.refresh(person)
    assert (person.email, person.email_normalized) == ("ken@new-lab.example",) * 2
    assert person.pending_email is None
    assert services.authenticate("ken@new-lab.example", PASSWORD) is person
    assert services.authenticate("ken@old-lab.example", PASSWORD) is None


def test_address_change_link_works_only_once(make_person: MakePerson) -> None:
    person = make_person("ken@old-lab.example")
    profile.request_email_change(person, new_email="ken@new-lab.example", password=PASSWORD)
    token = link_token(outbox("accounts/confirm_new_email")[0])
    profile.confirm_email_change(token)

    with pytest.raises(InvalidInput, match="already used"):
        profile.confirm_email_change(token)

    db.session.refresh(person)
    assert person.email == "ken@new-lab.example"


def test_only_the_latest_address_change_link_works(make_person: MakePerson) -> None:
    person = make_person("ken@old-lab.example")
    profile.request_email_change(person, new_email="ken@first.example", password=PASSWORD)
    profile.request_email_change(person, new_email="ken@second.example", password=PASSWORD)
    first, second = (link_token(m) for m in outbox("accounts/confirm_new_email"))

    with pytest.raises(InvalidInput):
        profile.confirm_email_change(first)
    profile.confirm_email_change(second)

    db.session.refresh(person)
    assert person.email == "ken@second.example"


@pytest.mark.parametrize("taken", ["mika@new-lab.example", "MIKA@New-Lab.Example"])
def test_change_to_a_taken_address_tells_that_address_and_changes_nothing(
    make_person: MakePerson, taken: str
) -> None:
    person = make_person("ken@old-lab.example")
    make_person("mika@new-lab.example")

    result = profile.request_email_change(person, new_email=taken, password=PASSWORD)

    assert result is None  # the same outward answer as for a free address
    db.session.refresh(person)
    assert person.pending_email is None
    assert person.email == "ken@old-lab.example"
    [mail] = outbox()
    assert mail.kind == "accounts/email_taken"
    assert mail.to_address.lower() == "mika@new-lab.example"


def test_address_change_needs_the_password(make_person: MakePerson) -> None:
    person = make_person("ken@old-lab.example")

    with pytest.raises(InvalidInput, match="current password is not correct"):
        profile.request_email_change(person, new_email="ken@new-lab.example", password="nope")

    db.session.refresh(person)
    assert person.pending_email is None
    assert outbox() == []


def test_address_change_link_is_refused_when_another_account_took_the_address_meanwhile(
    make_person: MakePerson,
) -> None:
    person = make_person("ken@old-lab.example")
    profile.request_email_change(person, new_email="ken@new-lab.example", password=PASSWORD)
    token = link_token(outbox("accounts/confirm_new_email")[0])
    make_person("KEN@new-lab.example")

    with pytest.raises(InvalidInput, match="Another account now uses"):
        profile.confirm_email_change(token)

    db.session.refresh(person)
    assert person.email == "ken@old-lab.example"
    assert person.pending_email is None


# --- profile --------------------------------------------------------------------------------


def test_profile_keeps_names_in_japanese_with_furigana(make_person: MakePerson) -> None:
    person = make_person()

    profile.update_profile(
        person,
        family_name=" 岡野 ",
        given_name="栄之",
        family_name_kana="オカノ",
        given_name_kana="ヒデユキ",
        romanized_name="Hideyuki Okano",
        preferred_locale="ja",
    )

    db.session.refresh(person)
    assert (person.family_name, person.given_name) == ("岡野", "栄之")
    assert (person.family_name_kana, person.given_name_kana) == ("オカノ", "ヒデユキ")
    assert person.preferred_locale == "ja"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"family_name": " "}, "family name"),
        ({"preferred_locale": "fr"}, "English or Japanese"),
    ],
)
def test_profile_with_bad_input_changes_nothing(
    make_person: MakePerson, changes: dict[str, str], message: str
) -> None:
    person = make_person(family_name="山田", locale="en")

    with pytest.raises(InvalidInput, match=message):
        profile.update_profile(person, given_name="次郎", **changes)

    db.session.refresh(person)
    assert (person.family_name, person.given_name, person.preferred_locale) == (
        "山田",
        "太郎",
        "en",
    )


# --- roles ----------------------------------------------------------------------------------


def test_admin_makes_someone_partner_admin_of_biocom(
    make_person: MakePerson, admin: Person
) -> None:
    person = make_person("office@biocom.example.org")

    services.grant_role(
        person, Role.PARTNER_ADMIN, actor=admin, organization=org("biocom"), reason="new hire"
    )

    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.person_id == person.id))
    assert grant is not None
    assert (grant.role, grant.organization_id, grant.granted_by_id) == (
        "partner_admin",
        org("biocom").id,
        admin.id,
    )
    [entry] = audit("role.grant")
    assert (entry.actor_id, entry.subject_type, entry.subject_id) == (admin.id, "person", person.id)
    assert entry.organization_id == org("biocom").id
    assert entry.reason == "new hire"
    assert entry.details == {"role": "partner_admin"}


@pytest.mark.parametrize(
    ("role", "slug", "message"),
    [
        (Role.PARTNER_ADMIN, None, "Choose the organization"),
        (Role.PARTNER_ADMIN, "link-j", "grant the staff role"),
        (Role.STAFF, "biocom", "Only partner admins"),
        (Role.ADMIN, "ucsd", "Only partner admins"),
    ],
)
def test_role_with_a_wrong_organization_is_refused(
    make_person: MakePerson, admin: Person, role: Role, slug: str | None, message: str
) -> None:
    person = make_person()

    with pytest.raises(InvalidInput, match=message):
        services.grant_role(person, role, actor=admin, organization=org(slug) if slug else None)

    assert person.role_grants == []
    assert audit() == []


def test_second_role_of_the_same_kind_is_refused(make_person: MakePerson, admin: Person) -> None:
    person = make_person()
    services.grant_role(person, Role.PARTNER_ADMIN, actor=admin, organization=org("biocom"))

    with pytest.raises(InvalidTransition, match="already has this role"):
        services.grant_role(person, Role.PARTNER_ADMIN, actor=admin, organization=org("ucsd"))

    db.session.refresh(person)
    assert [(g.role, g.organization_id) for g in person.role_grants] == [
        ("partner_admin", org("biocom").id)
    ]
    assert len(audit("role.grant")) == 1


@pytest.mark.parametrize("actor_kind", ["member", "staff", "partner_admin"])
def test_only_an_admin_grants_roles(
    make_person: MakePerson,
    staff: Person,
    partner_admin: Callable[[str], Person],
    actor_kind: str,
) -> None:
    actor = {
        "member": lambda: make_person(),
        "staff": lambda: staff,
        "partner_admin": lambda: partner_admin("biocom"),
    }[actor_kind]()
    person = make_person()

    with pytest.raises(NotFound):
        services.grant_role(person, Role.STAFF, actor=actor)

    assert person.role_grants == []
    assert audit() == []


def test_revoking_a_role_ends_the_persons_sessions_and_is_audited(
    make_person: MakePerson, admin: Person
) -> None:
    person = make_person()
    services.grant_role(person, Role.PARTNER_ADMIN, actor=admin, organization=org("krp"))
    session_before = session_id_for(person)

    services.revoke_role(person, Role.PARTNER_ADMIN, actor=admin, reason="left KRP")

    assert count(RoleGrant) == 1  # the admin's own
    assert sessions.load_person_for_session(session_before) is None
    [entry] = audit("role.revoke")
    assert (entry.actor_id, entry.subject_id, entry.organization_id, entry.reason) == (
        admin.id,
        person.id,
        org("krp").id,
        "left KRP",
    )


def test_revoking_a_role_the_person_does_not_hold_is_refused(
    make_person: MakePerson, admin: Person
) -> None:
    person = make_person()
    version = person.session_version

    with pytest.raises(InvalidTransition, match="does not have this role"):
        services.revoke_role(person, Role.STAFF, actor=admin)

    assert person.session_version == version
    assert audit() == []


def test_admin_cannot_remove_their_own_admin_role(admin: Person) -> None:
    with pytest.raises(InvalidTransition, match="your own admin role"):
        services.revoke_role(admin, Role.ADMIN, actor=admin)

    db.session.refresh(admin)
    assert admin.is_admin


def test_non_admin_cannot_revoke_roles(
    make_person: MakePerson, staff: Person, partner_admin: Callable[[str], Person]
) -> None:
    person = partner_admin("biocom")

    with pytest.raises(NotFound):
        services.revoke_role(person, Role.PARTNER_ADMIN, actor=staff)

    db.session.refresh(person)
    assert person.has_role(Role.PARTNER_ADMIN, org("biocom").id)


def test_account_made_directly_is_confirmed_and_unique(make_person: MakePerson) -> None:
    person = services.create_person_directly(
        "Root@Link-J.org", NEW_PASSWORD, family_name="Admin", given_name="Portal"
    )
    assert person.email_confirmed

    with pytest.raises(InvalidInput, match="already exists"):
        services.create_person_directly(
            "root@link-j.org", NEW_PASSWORD, family_name="Admin", given_name="Again"
        )
    assert count(Person) == 1


# --- the person's own data ------------------------------------------------------------------


def test_export_holds_account_memberships_roles_and_messages(
    make_person: MakePerson,
    make_membership: Callable[..., Membership],
    admin: Person,
) -> None:
    person = make_person("ken@biocom-member.example", family_name="田中", given_name="健")
    make_membership(person, "biocom", member_number="BC-7")
    services.grant_role(person, Role.PARTNER_ADMIN, actor=admin, organization=org("ucsd"))
    services.request_password_reset(person.email, locale="en")

    data = services.export_personal_data(person)

    json.dumps(data)  # downloadable as JSON
    assert data["account"]["email"] == "ken@biocom-member.example"
    assert (data["account"]["family_name"], data["account"]["given_name"]) == ("田中", "健")
    assert [(m["organization"], m["status"], m["member_number"]) for m in data["memberships"]] == [
        ("biocom", "pending", "BC-7")
    ]
    assert data["roles"] == [{"role": "partner_admin", "organization": "ucsd"}]
    assert [m["status"] for m in data["messages"]] == ["queued"]


def test_deleting_an_account_erases_its_personal_data(
    make_person: MakePerson, make_membership: Callable[..., Membership]
) -> None:
    person = make_person("ken@biocom-member.example", family_name="田中", given_name="健")
    person.pending_email = "ken@new-lab.example"
    person.romanized_name = "Ken Tanaka"
    person.affiliation = "UCSD"
    db.session.commit()
    old_session = session_id_for(person)

    services.delete_account(person, password=PASSWORD)

    db.session.expire_all()
    row = db.session.get(Person, person.id)
    assert row is not None  # kept, emptied, for audit entries to point at
    assert row.email == row.email_normalized == f"deleted-{person.id}@invalid"
    assert (row.family_name, row.given_name, row.romanized_name, row.affiliation) == ("",) * 4
    assert row.pending_email is None
    assert row.password_hash is None
    assert row.deleted_at is not None
    assert services.find_person_by_email("ken@biocom-member.example") is None
    assert sessions.load_person_for_session(old_session) is None


def test_deleting_an_account_removes_memberships_roles_and_unsent_mail(
    make_person: MakePerson,
    make_membership: Callable[..., Membership],
    partner_admin: Callable[[str], Person],
) -> None:
    person = partner_admin("ucsd")
    make_membership(person, "biocom")
    make_membership(person, "link-j", status="verified")
    services.request_password_reset(person.email, locale="en")  # queued, unsent
    services.change_password(person, current_password=PASSWORD, new_password=NEW_PASSWORD)
    sent = outbox("accounts/password_changed")[0]
    sent.status = OutboxStatus.SENT.value
    db.session.commit()

    services.delete_account(person, password=NEW_PASSWORD)

    assert (
        db.session.scalars(select(Membership).where(Membership.person_id == person.id)).all() == []
    )
    assert db.session.scalars(select(RoleGrant).where(RoleGrant.person_id == person.id)).all() == []
    remaining = outbox()
    assert [m.kind for m in remaining] == ["accounts/password_changed"]
    assert remaining[0].to_address == "deleted@invalid"
    assert remaining[0].body_text == ""


def test_deleting_an_account_keeps_the_audit_trail_pointing_at_the_emptied_row(
    make_person: MakePerson,
    make_membership: Callable[..., Membership],
    partner_admin: Callable[[str], Person],
) -> None:
    officer = partner_admin("biocom")
    member = make_person()
    memberships.verify_membership(make_membership(member, "biocom"), actor=officer)
    officer_id = officer.id

    services.delete_account(officer, password=PASSWORD)

    [decision] = audit("membership.verify")
    assert decision.actor_id == officer_id
    assert decision.actor.deleted_at is not None
    [deletion] = audit("person.delete")
    assert deletion.actor_id == officer_id


def test_deleting_an_account_leaves_no_copy_of_the_address(
    make_person: MakePerson, staff: Person
) -> None:
    contact = make_person("chief@mitsui-life.example")
    company = companies.create_company(
        actor=staff,
        name="Mitsui Life Example",
        email_domain="mitsui-life.example",
        seat_count=3,
        primary_contact=contact,
    )
    colleague = make_person("Aoi.Kato@mitsui-life.example")
    companies.invite_colleague(company, "Aoi.Kato@mitsui-life.example", actor=contact)
    companies.accept_invitation(link_token(outbox("accounts/invitation")[0]), person=colleague)

    services.delete_account(colleague, password=PASSWORD)

    # The invitation row and its mail were addressed to the colleague, but carry no
    # person_id to the account: they must not keep the erased address either.
    leftovers = db.session.scalars(
        select(Invitation.id).where(Invitation.email_normalized == "aoi.kato@mitsui-life.example")
    ).all()
    mails = db.session.scalars(
        select(OutboxMessage.kind).where(
            OutboxMessage.to_address.ilike("aoi.kato@mitsui-life.example")
        )
    ).all()
    assert (leftovers, mails) == ([], [])


def test_deleting_needs_the_password(make_person: MakePerson) -> None:
    person = make_person("ken@biocom-member.example")

    with pytest.raises(InvalidInput, match="current password is not correct"):
        services.delete_account(person, password="not-my-password")

    db.session.refresh(person)
    assert person.deleted_at is None
    assert person.email == "ken@biocom-member.example"


def test_primary_contact_of_a_company_cannot_delete_their_account(
    make_person: MakePerson, staff: Person
) -> None:
    contact = make_person("chief@mitsui-life.example")
    companies.create_company(
        actor=staff,
        name="Mitsui Life Example",
        email_domain="mitsui-life.example",
        seat_count=3,
        primary_contact=contact,
    )
    entries = count(AuditEntry)

    with pytest.raises(DomainError, match="primary contact"):
        services.delete_account(contact, password=PASSWORD)

    db.session.refresh(contact)
    assert contact.deleted_at is None
    assert contact.email == "chief@mitsui-life.example"
    assert [m.status for m in contact.memberships] == ["verified"]
    assert count(AuditEntry) == entries


def test_a_deleted_accounts_address_can_register_again(make_person: MakePerson) -> None:
    person = make_person("hanako.sato@biocom-member.example")
    services.delete_account(person, password=PASSWORD)

    again = services.register_person(registration())

    assert again is not None and again.id != person.id
    assert [m.kind for m in outbox()] == ["accounts/confirm_email"]
