"""Account pages: routing, forms, sessions, enumeration-safety and rate limits."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts import memberships, services
from portal.accounts.forms import NAME_FIELDS
from portal.accounts.models import Membership, Person
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Organization

PASSWORD = "correct-horse-battery-9"

pytestmark = pytest.mark.usefixtures("network")


def _org(slug: str) -> Organization:
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert organization is not None
    return organization


def _register(client: FlaskClient, email: str = "ken@biocom-member.example", **extra: str):
    data = {
        "email": email,
        "password": PASSWORD,
        "password_again": PASSWORD,
        "family_name": "Tanaka",
        "given_name": "Ken",
        "organization": str(_org("biocom").id),
        "membership_kind": "individual",
        "member_number": "BC-7",
        **extra,
    }
    return client.post("/register", data=data, headers={"Accept-Language": "en"})


def _link(message: OutboxMessage) -> str:
    match = re.search(r"http://[^\s]+", message.body_text)
    assert match, message.body_text
    return match.group(0).replace("http://127.0.0.1:5000", "")


def _login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _without_tokens(html: str) -> str:
    # CSRF tokens are signed with the time: two pages a second apart differ only there.
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_visitor_registers_and_sees_check_your_email(client: FlaskClient) -> None:
    response = _register(client)

    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    person = services.find_person_by_email("ken@biocom-member.example")
    assert person is not None and not person.email_confirmed
    assert [m.status for m in person.memberships] == ["pending"]


def test_registering_an_existing_address_looks_the_same_and_creates_nothing(
    client: FlaskClient,
) -> None:
    first = _register(client).get_data(as_text=True)
    people = _count(Person)

    second = _register(client, email="KEN@Biocom-Member.example").get_data(as_text=True)

    assert _count(Person) == people
    strip = lambda html: re.sub(r"[A-Za-z0-9.@-]+@[A-Za-z0-9.-]+", "EMAIL", html)  # noqa: E731
    assert _without_tokens(strip(first.split("<main")[1])) == _without_tokens(
        strip(second.split("<main")[1])
    )
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["accounts/confirm_email", "accounts/already_registered"]


def test_registration_with_a_common_password_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/register",
        data={
            "email": "a@b.example",
            "password": "password123",
            "password_again": "password123",
            "family_name": "A",
            "given_name": "B",
            "organization": str(_org("link-j").id),
            "membership_kind": "individual",
        },
    )
    assert "most common" in response.get_data(as_text=True)
    assert _count(Person) == 0


def test_a_refused_registration_shows_the_filled_form_again(client: FlaskClient) -> None:
    response = _register(client, password="password123", password_again="password123")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "most common" in html
    assert 'value="ken@biocom-member.example"' in html and 'value="Tanaka"' in html
    assert _count(Person) == 0


def test_registration_and_profile_ask_the_same_name_fields(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    _login(client, "ada@example.org")
    profile = client.get("/account/profile", headers={"Accept-Language": "ja"})
    client.post("/logout")
    register = client.get("/register", headers={"Accept-Language": "ja"})

    def names(html: str) -> set[str]:
        return set(re.findall(r'<label for="(\w+)">', html))

    shown_in_both = names(profile.get_data(as_text=True)) & names(register.get_data(as_text=True))
    assert shown_in_both >= set(NAME_FIELDS)


def test_registration_shows_furigana_fields_in_japanese_only(client: FlaskClient) -> None:
    japanese = client.get("/register", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    english = client.get("/register", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert 'name="family_name_kana"' in japanese
    assert 'name="family_name_kana"' not in english


def test_confirmation_link_needs_a_button_press(client: FlaskClient) -> None:
    _register(client)
    link = _link(db.session.scalars(select(OutboxMessage)).first())

    client.get(link)  # a mail scanner's prefetch
    person = services.find_person_by_email("ken@biocom-member.example")
    assert person is not None and not person.email_confirmed

    response = client.post(link)
    assert response.status_code == 302
    db.session.expire_all()
    assert person.email_confirmed


def test_reused_confirmation_link_says_so(client: FlaskClient) -> None:
    _register(client)
    link = _link(db.session.scalars(select(OutboxMessage)).first())
    client.post(link)

    again = client.post(link, follow_redirects=True)

    assert "already used" in again.get_data(as_text=True)


def test_forged_confirmation_link_is_refused(client: FlaskClient) -> None:
    response = client.post("/confirm/not-a-real-token")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_login_logout_and_dashboard(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")

    assert client.get("/account").status_code == 302
    response = _login(client, "ADA@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "My memberships" in client.get("/account").get_data(as_text=True)

    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_login_answers_the_same_for_unknown_address_and_wrong_password(
    client: FlaskClient,
) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")

    unknown = _login(client, "nobody@example.org").get_data(as_text=True)
    wrong = _login(client, "ada@example.org", "wrong-password-1").get_data(as_text=True)

    assert _without_tokens(unknown.replace("nobody@example.org", "X")) == _without_tokens(
        wrong.replace("ada@example.org", "X")
    )
    assert "not correct" in unknown


def test_login_refuses_to_redirect_off_site(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    response = client.post(
        "/login?next=https://evil.example/", data={"email": "ada@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_remember_me_sets_a_remember_cookie(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    _login(client, "ada@example.org", remember="y")
    assert client.get_cookie("remember_token") is not None


def test_reset_request_answers_the_same_whether_or_not_the_account_exists(
    client: FlaskClient,
) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")

    known = client.post("/reset", data={"email": "ada@example.org"}).get_data(as_text=True)
    unknown = client.post("/reset", data={"email": "eve@example.org"}).get_data(as_text=True)

    assert _without_tokens(known.replace("ada@example.org", "X")) == _without_tokens(
        unknown.replace("eve@example.org", "X")
    )
    assert _count(OutboxMessage) == 1


def test_password_reset_link_works_once_and_ends_sessions(client: FlaskClient, app: Flask) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    other_device = app.test_client()
    _login(other_device, "ada@example.org")
    client.post("/reset", data={"email": "ada@example.org"})
    link = _link(db.session.scalars(select(OutboxMessage)).one())
    new = "a-brand-new-passphrase"

    done = client.post(link, data={"password": new, "password_again": new})
    again = client.post(link, data={"password": new + "x", "password_again": new + "x"})

    assert done.status_code == 302
    assert again.status_code == 400
    assert other_device.get("/account").status_code == 302
    assert services.authenticate("ada@example.org", new) is not None


def test_change_password_keeps_this_session_and_ends_the_others(
    client: FlaskClient, app: Flask
) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    other_device = app.test_client()
    _login(other_device, "ada@example.org")
    _login(client, "ada@example.org")
    new = "a-brand-new-passphrase"

    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": new, "password_again": new},
    )

    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302


def test_change_email_waits_for_the_new_address_to_be_confirmed(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ada@example.org", PASSWORD, family_name="L", given_name="Ada"
    )
    _login(client, "ada@example.org")

    client.post(
        "/account/email", data={"new_email": "ada@new.example", "current_password": PASSWORD}
    )
    db.session.expire_all()
    assert person.email == "ada@example.org" and person.pending_email == "ada@new.example"

    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "accounts/confirm_new_email")
    ).one()
    client.post(_link(message))
    db.session.expire_all()
    assert person.email == "ada@new.example" and person.pending_email is None


def test_profile_edit(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ada@example.org", PASSWORD, family_name="L", given_name="Ada"
    )
    _login(client, "ada@example.org")

    client.post(
        "/account/profile",
        data={
            "family_name": "Lovelace",
            "given_name": "Ada",
            "affiliation": "Analytical Engines",
            "preferred_locale": "ja",
        },
    )

    db.session.expire_all()
    assert person.family_name == "Lovelace" and person.preferred_locale == "ja"


def test_profile_refuses_an_empty_family_name(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ada@example.org", PASSWORD, family_name="L", given_name="Ada"
    )
    _login(client, "ada@example.org")

    client.post(
        "/account/profile", data={"family_name": "", "given_name": "Ada", "preferred_locale": "en"}
    )

    db.session.expire_all()
    assert person.family_name == "L"


def test_dashboard_lists_what_a_verified_membership_opens(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ken@biocom-member.example", PASSWORD, family_name="Tanaka", given_name="Ken"
    )
    membership = services.claim_membership(person, _org("biocom"))
    admin = services.create_person_directly(
        "admin@biocom.example", PASSWORD, family_name="B", given_name="Admin"
    )
    services.grant_role(admin, "partner_admin", actor=None, organization=_org("biocom"))
    _login(client, "ken@biocom-member.example")
    pending = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)

    memberships.verify_membership(membership, actor=admin)
    verified = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert "Pending verification" in pending and "LINK-J extends" not in pending
    assert "Verified" in verified
    assert "LINK-J extends its member services to BIOCOM members" in verified


def test_dashboard_shows_a_rejection_reason(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ken@biocom-member.example", PASSWORD, family_name="Tanaka", given_name="Ken"
    )
    membership = services.claim_membership(person, _org("biocom"))
    admin = services.create_person_directly(
        "admin@biocom.example", PASSWORD, family_name="B", given_name="Admin"
    )
    services.grant_role(admin, "partner_admin", actor=None, organization=_org("biocom"))
    memberships.reject_membership(membership, actor=admin, reason="Not on our 2026 member list")
    _login(client, "ken@biocom-member.example")

    html = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert "Rejected" in html and "Not on our 2026 member list" in html


def test_claiming_a_second_membership(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ken@example.org", PASSWORD, family_name="Tanaka", given_name="Ken"
    )
    _login(client, "ken@example.org")

    client.post(
        "/account/memberships/new",
        data={"organization": _org("krp").id, "membership_kind": "corporate"},
    )
    twice = client.post(
        "/account/memberships/new",
        data={"organization": _org("krp").id, "membership_kind": "corporate"},
        follow_redirects=True,
    )

    assert "already have a membership" in twice.get_data(as_text=True)
    assert (
        db.session.scalar(
            select(func.count(Membership.id)).where(Membership.person_id == person.id)
        )
        == 1
    )


def test_claiming_a_membership_again_is_refused_on_the_form(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ken@example.org", PASSWORD, family_name="Tanaka", given_name="Ken"
    )
    services.claim_membership(person, _org("krp"))
    _login(client, "ken@example.org")

    response = client.post(
        "/account/memberships/new",
        data={"organization": _org("krp").id, "membership_kind": "individual"},
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "already have a membership" in html
    assert 'name="member_number"' in html  # the form again, not another page
    assert (
        db.session.scalar(
            select(func.count(Membership.id)).where(Membership.person_id == person.id)
        )
        == 1
    )


def test_export_downloads_my_data_as_json(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    _login(client, "ada@example.org")

    response = client.get("/account/export")

    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_json()["account"]["email"] == "ada@example.org"


def test_delete_account_needs_the_password_and_logs_out(client: FlaskClient) -> None:
    person = services.create_person_directly(
        "ada@example.org", PASSWORD, family_name="L", given_name="Ada"
    )
    _login(client, "ada@example.org")

    client.post("/account/delete", data={"current_password": "wrong-password-1", "understood": "y"})
    db.session.expire_all()
    assert person.deleted_at is None

    client.post("/account/delete", data={"current_password": PASSWORD, "understood": "y"})
    db.session.expire_all()
    assert person.deleted_at is not None and person.family_name == ""
    assert client.get("/account").status_code == 302


def test_forms_need_a_csrf_token(client: FlaskClient, csrf_enabled: None) -> None:
    response = _register(client)
    assert response.status_code == 400
    assert _count(Person) == 0


def test_session_cookie_is_httponly_and_lax(client: FlaskClient) -> None:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    response = _login(client, "ada@example.org")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


class TestRateLimits:
    """Login and reset are limited per address and per account (Flask-Limiter)."""

    def test_login_is_limited_per_account_and_address(self, client: FlaskClient) -> None:
        services.create_person_directly(
            "ada@example.org", PASSWORD, family_name="L", given_name="Ada"
        )
        for attempt in range(5):
            response = client.post(
                "/login",
                data={"email": "ada@example.org", "password": f"wrong-{attempt}-xxxx"},
                environ_base={"REMOTE_ADDR": "10.0.0.7"},
            )
            assert response.status_code == 200
        blocked = client.post(
            "/login",
            data={"email": "ada@example.org", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.7"},
        )
        owner = client.post(
            "/login",
            data={"email": "ada@example.org", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.99"},
        )
        assert blocked.status_code == 429
        assert "Too many attempts" in blocked.get_data(as_text=True)
        assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60  # the window ends
        # Rule 16: the guesser's address is stopped on this account, its owner elsewhere not.
        assert owner.status_code == 302 and owner.location.endswith("/account")

    def test_login_failures_are_limited_per_address(
        self, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, app: Flask
    ) -> None:
        monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "10 per 15 minutes")
        for attempt in range(10):
            client.post(
                "/login", data={"email": f"user{attempt}@example.org", "password": "x" * 12}
            )
        assert (
            client.post("/login", data={"email": "z@example.org", "password": "x" * 12}).status_code
            == 429
        )

    def test_reset_is_limited_per_account(self, client: FlaskClient) -> None:
        for attempt in range(3):
            client.post(
                "/reset",
                data={"email": "ada@example.org"},
                environ_base={"REMOTE_ADDR": f"10.0.1.{attempt}"},
            )
        blocked = client.post(
            "/reset", data={"email": "ADA@example.org"}, environ_base={"REMOTE_ADDR": "10.0.1.99"}
        )
        assert blocked.status_code == 429
