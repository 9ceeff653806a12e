"""Sign-in sessions kept on the server (rule 15): a cookie, copied or not, signs in only while
its session record is open; the member sees and ends their sessions; a password change or
reset, a role removed and an admin's "log out" end them at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal import versions
from portal.accounts import sessions
from portal.accounts.models import LoginSession, Person, Role
from portal.db import utcnow
from portal.extensions import db
from tests.factories import (
    PASSWORD,
    add_person,
    add_role,
    audit,
    link_token,
    org,
    outbox,
    recorded_statements,
)
from tests.roles import login

EN = {"Accept-Language": "en"}
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def sign_in(
    client: FlaskClient,
    person: Person,
    *,
    remember: bool = False,
    agent: str = CHROME,
    address: str = "203.0.113.25",
    password: str = PASSWORD,
) -> None:
    response = client.post(
        "/login",
        data={
            "email": person.email,
            "password": password,
            **({"remember": "y"} if remember else {}),
        },
        headers={**EN, "User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def signed_in(client: FlaskClient) -> bool:
    """Whether the client's cookies open the member's dashboard (a cached page, once seen)."""
    response = client.get("/account", headers=EN)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.location
    return False


def copy_cookies(source: FlaskClient, target: FlaskClient, *names: str) -> None:
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        target.set_cookie(name, cookie.value)


def log_out(client: FlaskClient) -> None:
    assert client.post("/logout").status_code == 302


def open_sessions(person: Person) -> list[LoginSession]:
    db.session.expire_all()
    return sessions.live_sessions(db.session.get(Person, person.id))


# --- a copied cookie after logout ------------------------------------------------------------


def test_a_copied_session_cookie_is_refused_after_logout(app: Flask, network: None) -> None:
    member = add_person("aiko@link-j.example")
    browser, thief = app.test_client(), app.test_client()
    sign_in(browser, member)
    copy_cookies(browser, thief, "session")
    assert signed_in(browser) and signed_in(thief)  # the dashboard is now in the page cache
    assert signed_in(thief)  # served from it

    log_out(browser)

    assert not signed_in(thief)
    assert not signed_in(browser)
    [ended] = db.session.scalars(select(LoginSession)).all()
    assert ended.end_reason == "logout" and ended.ended_at is not None


def test_a_copied_remember_cookie_is_refused_after_logout(app: Flask, network: None) -> None:
    member = add_person("aiko@link-j.example")
    browser, thief = app.test_client(), app.test_client()
    sign_in(browser, member, remember=True)
    copy_cookies(browser, thief, "remember_token")  # only "stay logged in", no session cookie
    assert signed_in(thief), "the remember cookie alone signs in while its session is open"
    thief_again = app.test_client()
    copy_cookies(browser, thief_again, "remember_token")

    log_out(browser)

    assert not signed_in(thief)  # its restored session cookie names the ended record
    assert not signed_in(thief_again)  # the remember cookie names it too


def test_a_remembered_session_lives_longer_and_a_plain_one_ends_when_idle(
    app: Flask, network: None
) -> None:
    member = add_person()
    plain, remembered = app.test_client(), app.test_client()
    sign_in(plain, member)
    sign_in(remembered, member, remember=True)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    for record in db.session.scalars(select(LoginSession)):
        record.last_seen_at = utcnow() - idle - timedelta(minutes=1)
    db.session.commit()

    assert not signed_in(plain)
    assert signed_in(remembered)
    # Refused without being marked seen: marking it first would have revived it.
    plain_record = db.session.scalars(
        select(LoginSession).where(LoginSession.remember.is_(False))
    ).one()
    db.session.refresh(plain_record)
    assert utcnow() - plain_record.last_seen_at > idle


def test_privileged_sessions_are_shorter_in_all(app: Flask, network: None) -> None:
    member = add_person()
    admin = add_role(add_person(), Role.PARTNER_ADMIN, org("biocom"))
    clients = {member.id: app.test_client(), admin.id: app.test_client()}
    sign_in(clients[member.id], member)
    sign_in(clients[admin.id], admin)
    hours = app.config["PRIVILEGED_SESSION_MAX_HOURS"]
    assert hours < app.config["SESSION_MAX_HOURS"]
    for record in db.session.scalars(select(LoginSession)):
        record.created_at = utcnow() - timedelta(hours=hours, minutes=1)
        record.last_seen_at = utcnow()
    db.session.commit()

    assert signed_in(clients[member.id])
    assert not signed_in(clients[admin.id])


def signed_in_and_last_seen_two_minutes_ago(app: Flask) -> tuple[FlaskClient, int]:
    """A member's client whose session record is due its minute's mark, and the record's id."""
    client = app.test_client()
    sign_in(client, add_person())
    [record] = db.session.scalars(select(LoginSession)).all()
    record.last_seen_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    return client, record.id


def test_last_seen_is_written_at_most_once_a_minute(app: Flask, network: None) -> None:
    client, record_id = signed_in_and_last_seen_two_minutes_ago(app)

    with recorded_statements() as statements:
        for _ in range(3):
            assert client.get("/account/profile", headers=EN).status_code == 200

    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE LOGIN_SESSION")]
    assert len(updates) == 1
    db.session.expire_all()
    assert utcnow() - db.session.get(LoginSession, record_id).last_seen_at < timedelta(minutes=1)


def test_marking_a_session_seen_rides_in_the_requests_own_transaction(
    app: Flask, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the minute's mark is sent on the connection the request reads on and
    committed with it, even by a page that only read (a transaction of its own on a second
    connection cost a fifth of a registration's CPU); it bumps no page-cache generation."""
    store = versions.MemoryStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    client, record_id = signed_in_and_last_seen_two_minutes_ago(app)
    connections: list[object] = []

    def note(conn: object, *_args: object) -> None:
        connections.append(conn)

    generations = dict(store._generations)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.get("/account/profile", headers=EN).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len({id(conn) for conn in connections}) == 1
    assert store._generations == generations
    db.session.expire_all()
    seen = db.session.get(LoginSession, record_id)
    assert seen is not None and utcnow() - seen.last_seen_at < timedelta(minutes=1)


# --- the member's sessions page --------------------------------------------------------------


def test_sessions_are_listed_with_device_place_and_this_device(app: Flask, network: None) -> None:
    member = add_person()
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, member, agent=CHROME, address="203.0.113.25")
    sign_in(phone, member, agent=IPHONE, address="198.51.100.7", remember=True)

    page = laptop.get("/account/sessions", headers=EN).get_data(as_text=True)
    print(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("<main")[1]))[:700])

    assert "Chrome 126 on Windows 10" in page
    assert "Mobile Safari 17 on iOS 17 (iPhone)" in page
    assert "unknown (address 203.0.113.…)" in page and "198.51.100.…" in page
    assert page.count("This device") == 1
    laptop_part = page.split("Chrome 126 on Windows 10")[1].split("</li>")[0]
    assert "This device" in laptop_part
    assert "stays logged in" in page.split("Mobile Safari 17")[1].split("</li>")[0]
    japanese = laptop.get("/account/sessions", headers={"Accept-Language": "ja"})
    assert "ログイン中の端末" in japanese.get_data(as_text=True)


def test_a_session_is_ended_from_the_page(app: Flask, network: None) -> None:
    member = add_person()
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, member)
    sign_in(phone, member, agent=IPHONE)
    assert signed_in(phone)
    phone_record = next(s for s in open_sessions(member) if "iPhone" in s.user_agent)

    response = laptop.post(f"/account/sessions/{phone_record.id}/end", headers=EN)

    assert response.status_code == 302
    assert not signed_in(phone)
    assert signed_in(laptop)
    [entry] = audit("session.end")
    assert (entry.actor_id, entry.subject_id, entry.details["session"]) == (
        member.id,
        member.id,
        phone_record.id,
    )


def test_someone_elses_session_cannot_be_ended(app: Flask, network: None) -> None:
    member, other = add_person(), add_person()
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, member)
    sign_in(theirs, other)
    [their_record] = open_sessions(other)

    response = mine.post(f"/account/sessions/{their_record.id}/end", headers=EN)

    assert response.status_code == 404
    assert signed_in(theirs)


def test_all_other_sessions_are_ended_from_the_page(app: Flask, network: None) -> None:
    member = add_person()
    here, *elsewhere = (app.test_client() for _ in range(3))
    for client in (here, *elsewhere):
        sign_in(client, member)

    response = here.post("/account/sessions/end-others", headers=EN, follow_redirects=True)

    assert "2 other sessions are ended." in response.get_data(as_text=True)
    assert [signed_in(c) for c in elsewhere] == [False, False]
    assert signed_in(here)


# --- what ends every session -----------------------------------------------------------------


def test_a_password_change_ends_the_other_sessions_only(app: Flask, network: None) -> None:
    member = add_person()
    here, other = app.test_client(), app.test_client()
    sign_in(here, member)
    sign_in(other, member)

    response = here.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "a-brand-new-passphrase",
            "password_again": "a-brand-new-passphrase",
        },
        headers=EN,
    )

    assert response.status_code == 302
    assert not signed_in(other)
    assert signed_in(here)
    [entry] = audit("session.end_all")
    assert entry.details == {"ended": 1, "reason_code": "password_changed"}


def test_a_password_reset_ends_every_session(app: Flask, network: None) -> None:
    member = add_person("ken@biocom-member.example")
    devices = [app.test_client(), app.test_client()]
    for client in devices:
        sign_in(client, member)
    anonymous = app.test_client()
    anonymous.post("/reset", data={"email": member.email}, headers=EN)
    token = link_token(outbox("accounts/reset_password")[0])

    response = anonymous.post(
        f"/reset/{token}",
        data={"password": "a-brand-new-passphrase", "password_again": "a-brand-new-passphrase"},
        headers=EN,
    )

    assert response.status_code == 302
    assert [signed_in(c) for c in devices] == [False, False]


@pytest.mark.parametrize("door", ["admin page", "command line"])
def test_removing_a_role_ends_the_persons_sessions(
    app: Flask, network: None, admin: Person, door: str
) -> None:
    officer = add_role(add_person("officer@krp.example"), Role.PARTNER_ADMIN, org("krp"))
    officer_browser = app.test_client()
    sign_in(officer_browser, officer)
    assert officer_browser.get("/admin/organizations/krp/memberships").status_code == 200

    if door == "admin page":
        admin_browser = app.test_client()
        login(admin_browser, admin)
        response = admin_browser.post(
            f"/admin/people/{officer.id}/roles/partner_admin/revoke",
            data={"revoke-partner_admin-reason": "Left KRP."},
            headers=EN,
        )
        assert response.status_code == 302
    else:
        result = app.test_cli_runner().invoke(
            args=["users", "revoke", "partner_admin", officer.email]
        )
        assert result.exit_code == 0, result.output

    assert not signed_in(officer_browser)
    [entry] = audit("role.revoke")
    assert entry.details["sessions_ended"] == 1


def test_an_admin_logs_a_person_out_everywhere(app: Flask, network: None, admin: Person) -> None:
    member = add_person()
    devices = [app.test_client(), app.test_client()]
    for client in devices:
        sign_in(client, member)
    admin_browser = app.test_client()
    login(admin_browser, admin)
    person_page = admin_browser.get(f"/admin/people/{member.id}", headers=EN)
    assert "Logged in on 2 browsers now." in person_page.get_data(as_text=True)

    response = admin_browser.post(
        f"/admin/people/{member.id}/sign-out", headers=EN, follow_redirects=True
    )

    assert "is logged out of 2 sessions." in response.get_data(as_text=True)
    assert [signed_in(c) for c in devices] == [False, False]
    [entry] = audit("session.end_all")
    assert (entry.actor_id, entry.subject_id, entry.details["ended"]) == (admin.id, member.id, 2)
    assert entry.details["reason_code"] == "signed_out_by_admin"


def test_only_admins_may_log_others_out(app: Flask, network: None, staff: Person) -> None:
    member = add_person()
    device = app.test_client()
    sign_in(device, member)
    staff_browser = app.test_client()
    login(staff_browser, staff)

    response = staff_browser.post(f"/admin/people/{member.id}/sign-out", headers=EN)

    assert response.status_code == 403
    assert signed_in(device)


def test_deleting_the_account_ends_and_erases_its_sessions(app: Flask, network: None) -> None:
    member = add_person()
    here, other = app.test_client(), app.test_client()
    sign_in(here, member)
    sign_in(other, member)

    response = here.post(
        "/account/delete", data={"current_password": PASSWORD, "understood": "y"}, headers=EN
    )

    assert response.status_code == 302
    assert [signed_in(here), signed_in(other)] == [False, False]
    assert db.session.scalars(select(LoginSession)).all() == []


# --- audit and held sign-ins -----------------------------------------------------------------


def test_sign_ins_of_privileged_roles_are_audited_members_not(
    app: Flask, network: None, staff: Person
) -> None:
    member = add_person()
    sign_in(app.test_client(), member)
    sign_in(app.test_client(), staff, address="198.51.100.7")

    [entry] = audit("session.sign_in")
    assert (entry.actor_id, entry.details["network"], entry.details["roles"]) == (
        staff.id,
        "198.51.100",
        ["staff"],
    )


def test_a_held_sign_in_signs_nobody_in_until_its_step_releases_it(
    app: Flask, network: None
) -> None:
    member = add_person()
    held = sessions.sign_in(member, remember=False, hold="second_factor")
    cookie_value = f"{member.id}:{held.secret}"

    assert sessions.load_person_for_session(cookie_value) is None
    with pytest.raises(Exception, match="no longer valid"):
        sessions.held_session(held.secret, "mailed_link")
    released = sessions.release_hold(
        sessions.held_session(held.secret, "second_factor"), "second_factor"
    )
    assert sessions.load_person_for_session(cookie_value) is None  # the old secret is spent
    assert sessions.load_person_for_session(f"{member.id}:{released.secret}") == member


def test_a_registered_step_holds_the_sign_in_until_its_page_releases_it(
    app: Flask, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the second-factor step will do: register, hold, release (here with a stand-in page).
    step = sessions.SignInStep(
        "second_factor", lambda p: p.has_role(Role.STAFF), "i18n.switch_language"
    )
    monkeypatch.setattr(sessions, "SIGN_IN_STEPS", [step])
    staff_member = add_role(add_person(), Role.STAFF)
    browser = app.test_client()

    response = browser.post(
        "/login?next=/account/profile",
        data={"email": staff_member.email, "password": PASSWORD},
        headers=EN,
    )

    assert response.status_code == 302 and response.location.startswith("/language")
    assert not signed_in(browser)
    with browser.session_transaction() as cookie_session:
        secret = cookie_session[sessions.HELD_SIGN_IN]
    held = sessions.held_session(secret, "second_factor")
    held.factor_verified_at = utcnow()
    opened = sessions.release_hold(held, "second_factor")
    assert opened.record.held_for is None and opened.record.factor_verified_at is not None
    assert audit("session.sign_in")[0].actor_id == staff_member.id  # audited when complete


def test_long_dead_sessions_are_removed_at_the_next_sign_in(app: Flask, network: None) -> None:
    member = add_person()
    for _ in range(3):
        log_out_client = app.test_client()
        sign_in(log_out_client, member)
        log_out(log_out_client)
    old, recent, _third = db.session.scalars(select(LoginSession).order_by(LoginSession.id))
    old.ended_at = utcnow() - sessions.KEEP_DEAD_SESSIONS - timedelta(days=1)
    db.session.commit()
    old_id, recent_id = old.id, recent.id

    sign_in(app.test_client(), member)

    db.session.expire_all()
    remaining = db.session.scalars(select(LoginSession.id).order_by(LoginSession.id)).all()
    assert old_id not in remaining and recent_id in remaining and len(remaining) == 3
