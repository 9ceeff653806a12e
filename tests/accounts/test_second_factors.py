"""Second factors (rule 17): enrolment, the sign-in's second step, recovery codes, the
management pages' requirement with its grace period, and step-up for sensitive actions."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from portal.accounts import services
from portal.accounts.factors import apps, recovery
from portal.accounts.factors.models import AuthenticatorApp, FactorGrace, Passkey, RecoveryCode
from portal.accounts.models import LoginSession, Person, Role
from portal.db import utcnow
from portal.events import registering
from portal.extensions import db
from portal.inputs import safe_next as local_path
from portal.payments import invoices
from portal.payments.models import Payment
from tests.accounts.soft_authenticator import SoftAuthenticator
from tests.factories import (
    PASSWORD,
    add_event,
    add_person,
    add_role,
    audit,
    count,
    org,
    session_id_for,
    ticket,
)

pytestmark = pytest.mark.usefixtures("network")


def sign_in(client: FlaskClient, person: Person, next: str | None = None) -> TestResponse:
    url = "/login" + (f"?next={next}" if next else "")
    return client.post(url, data={"email": person.email, "password": PASSWORD})


def signed_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def with_app(person: Person) -> pyotp.TOTP:
    """The person has an authenticator app (added a while ago); its TOTP, to compute codes."""
    secret = pyotp.random_base32()
    db.session.add(AuthenticatorApp(person_id=person.id, secret=secret, last_used_step=0))
    db.session.commit()
    return pyotp.TOTP(secret)


def factor_used(client: FlaskClient, person: Person, *, minutes_ago: float) -> None:
    """Signed in, with the second factor used ``minutes_ago``."""
    with client.session_transaction() as session:
        session["_user_id"] = session_id_for(person)
        session["factor_at"] = {
            "person": person.id,
            "session": db.session.scalar(
                select(LoginSession.id)
                .where(LoginSession.person_id == person.id)
                .order_by(LoginSession.id.desc())
            ),
            "at": time.time() - minutes_ago * 60,
        }


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def passkey_options(response: TestResponse, mode: str) -> str:
    """The options the page gives the browser's passkey dialog (``create`` or ``get``)."""
    found = re.search(
        rf'data-passkey="{mode}" data-options="([^"]+)"', response.get_data(as_text=True)
    )
    assert found is not None, "no passkey form on the page"
    return html.unescape(found[1])


@pytest.fixture
def grace_days(app: Flask) -> Iterator[None]:
    saved = app.config["TWO_FACTOR_GRACE_DAYS"]
    yield
    app.config["TWO_FACTOR_GRACE_DAYS"] = saved


# --- enrolment ----------------------------------------------------------------------------------


def test_an_app_is_added_only_with_a_code_it_computed_and_recovery_codes_are_shown_once(
    client: FlaskClient,
) -> None:
    person = add_person("taro@example.jp")
    sign_in(client, person)
    page = client.get("/account/security/app")
    with client.session_transaction() as session:
        secret = session["totp_setup"]["secret"]
    assert page.status_code == 200
    assert "<svg" in page.get_data(as_text=True) and secret in text(page)

    wrong = client.post("/account/security/app", data={"code": "000000"})
    assert wrong.status_code == 400
    assert "This code is not the one your app shows now" in text(wrong)
    assert count(AuthenticatorApp) == 0 and count(RecoveryCode) == 0

    right = client.post("/account/security/app", data={"code": pyotp.TOTP(secret).now()})

    assert right.status_code == 200
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", right.get_data(as_text=True))
    assert len(codes) == 10 == count(RecoveryCode)
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert not any(code in h or code.replace("-", "") in h for code in codes for h in stored)
    assert db.session.scalar(select(AuthenticatorApp.secret)) == secret
    assert [e.details["kind"] for e in audit("factor.add")] == ["app"]
    security = text(client.get("/account/security"))
    assert not any(code in security for code in codes)
    assert "10 unused recovery codes left." in security


def test_a_passkey_is_registered_through_the_security_page(client: FlaskClient, app: Flask) -> None:
    person = add_person()
    sign_in(client, person)
    options = passkey_options(client.get("/account/security"), "create")
    key = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"], rp_id="localhost")

    forged = SoftAuthenticator(origin="https://evil.example", rp_id="localhost")
    refused = client.post(
        "/account/security/passkeys",
        data={"name": "Laptop", "credential": forged.create(options)},
    )
    assert refused.status_code == 302 and count(Passkey) == 0

    options = passkey_options(client.get("/account/security"), "create")
    added = client.post(
        "/account/security/passkeys",
        data={"name": "Laptop", "credential": key.create(options)},
    )

    assert added.status_code == 200  # the recovery codes, once
    [passkey] = db.session.scalars(select(Passkey)).all()
    assert (passkey.name, passkey.credential_id, passkey.transports) == (
        "Laptop",
        key.credential_id,
        "internal",
    )
    assert "Laptop" in text(client.get("/account/security"))


# --- signing in ---------------------------------------------------------------------------------


def test_the_password_alone_does_not_sign_in_a_person_with_a_factor(client: FlaskClient) -> None:
    person = add_person()
    totp = with_app(person)

    first = sign_in(client, person, next="/account/profile")

    assert urlsplit(first.location).path == "/login/second-factor"
    assert not signed_in(client)
    wrong = client.post("/login/second-factor", data={"kind": "app", "code": "123456"})
    assert wrong.status_code == 400 and not signed_in(client)
    code = totp.now()
    done = client.post("/login/second-factor", data={"kind": "app", "code": code})
    assert done.location == "/account/profile"
    assert signed_in(client)

    # The same code does not sign in a second time (another browser, the same minute).
    other = sign_in(client.application.test_client(), person)
    replay = client.application.test_client()
    sign_in(replay, person)
    again = replay.post("/login/second-factor", data={"kind": "app", "code": code})
    assert other.status_code == 302 and again.status_code == 400
    assert not signed_in(replay)


def test_the_second_step_expires(client: FlaskClient) -> None:
    person = add_person()
    totp = with_app(person)
    sign_in(client, person)
    held = db.session.scalar(select(LoginSession).where(LoginSession.held_for.is_not(None)))
    held.created_at -= timedelta(minutes=6)
    db.session.commit()

    late = client.post("/login/second-factor", data={"kind": "app", "code": totp.now()})

    assert urlsplit(late.location).path == "/login"
    assert not signed_in(client)


def test_a_recovery_code_works_once(client: FlaskClient) -> None:
    person = add_person()
    with_app(person)
    codes = recovery.replace_codes(person)
    db.session.commit()

    sign_in(client, person)
    used = client.post(
        "/login/second-factor", data={"kind": "recovery", "recovery_code": codes[3].upper()}
    )
    assert used.status_code == 302 and signed_in(client)
    assert [e.details["left"] for e in audit("factor.recovery_code_used")] == [9]

    again = client.application.test_client()
    sign_in(again, person)
    refused = again.post(
        "/login/second-factor", data={"kind": "recovery", "recovery_code": codes[3]}
    )
    assert refused.status_code == 400
    assert "This recovery code is not right, or was used already." in text(refused)
    assert not signed_in(again)
    another = again.post(
        "/login/second-factor", data={"kind": "recovery", "recovery_code": codes[4]}
    )
    assert another.status_code == 302 and signed_in(again)


def test_a_passkey_signs_in_and_a_cloned_one_is_refused(client: FlaskClient, app: Flask) -> None:
    person = add_person()
    sign_in(client, person)
    key = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"], rp_id="localhost")
    options = passkey_options(client.get("/account/security"), "create")
    client.post(
        "/account/security/passkeys",
        data={"name": "Phone", "credential": key.create(options)},
    )
    client.post("/logout")

    def second_step(browser: FlaskClient, count: int | None = None) -> TestResponse:
        sign_in(browser, person)
        answer = key.get(passkey_options(browser.get("/login/second-factor"), "get"), count=count)
        return browser.post("/login/second-factor", data={"kind": "passkey", "credential": answer})

    assert second_step(client).status_code == 302 and signed_in(client)
    assert db.session.scalar(select(Passkey.sign_count)) == 1
    clone = app.test_client()
    assert second_step(clone, count=1).status_code == 400
    assert not signed_in(clone)


# --- the management pages -----------------------------------------------------------------------


def test_a_partner_admin_without_a_factor_is_warned_during_the_grace_period(
    client: FlaskClient,
) -> None:
    admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    sign_in(client, admin)

    page = client.get("/admin/organizations/biocom/memberships")

    assert page.status_code == 200
    assert "Set up a second factor (a passkey or an authenticator app) by" in text(page)
    assert count(FactorGrace) == 0  # counted from the role grant; reading writes nothing


def test_after_the_grace_period_a_privileged_person_without_a_factor_is_sent_to_add_one(
    client: FlaskClient,
) -> None:
    staff = add_role(add_person("staff@link-j.org"), Role.STAFF)
    db.session.add(FactorGrace(person_id=staff.id, counts_from=utcnow() - timedelta(days=15)))
    db.session.commit()
    sign_in(client, staff)

    refused = client.get("/admin/payments")

    assert urlsplit(refused.location).path == "/account/security"
    assert "Add a second factor" in text(client.get("/account/security"))
    member_page = client.get("/account")
    assert member_page.status_code == 200


def test_a_zero_day_grace_requires_the_factor_at_once(
    client: FlaskClient, app: Flask, grace_days: None
) -> None:
    app.config["TWO_FACTOR_GRACE_DAYS"] = 0
    admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    sign_in(client, admin)

    assert urlsplit(client.get("/admin/").location).path == "/account/security"

    totp = with_app(admin)
    client.post("/logout")
    sign_in(client, admin)
    client.post("/login/second-factor", data={"kind": "app", "code": totp.now()})
    assert client.get("/admin/").status_code == 200


def test_a_session_that_did_not_use_the_factor_is_asked_for_it(client: FlaskClient) -> None:
    """A session from before the factor was added, or restored from "remember me"."""
    admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    totp = with_app(admin)
    with client.session_transaction() as session:
        session["_user_id"] = session_id_for(admin)

    asked = client.get("/admin/organizations/biocom/memberships")

    assert urlsplit(asked.location).path == "/account/confirm-factor"
    back = parse_qs(urlsplit(asked.location).query)["next"][0]
    assert back == "/admin/organizations/biocom/memberships"
    confirmed = client.post(asked.location, data={"kind": "app", "code": totp.now()})
    assert confirmed.location == back
    assert client.get(back).status_code == 200


def test_the_proof_of_a_factor_is_this_browser_sessions_not_the_session_records(
    app: Flask,
) -> None:
    """What a sign-in proved lives in the browser's session alone (``factors.state``): a
    "remember me" cookie names the same session record from another browser, and that
    browser has proved nothing, even after the owner's browser confirms the factor again."""
    admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    totp = with_app(admin)
    owner, copy = app.test_client(), app.test_client()
    owner.post("/login", data={"email": admin.email, "password": PASSWORD, "remember": "y"})
    owner.post("/login/second-factor", data={"kind": "app", "code": totp.now()})
    remembered = owner.get_cookie("remember_token")
    assert remembered is not None
    copy.set_cookie("remember_token", remembered.value)

    assert owner.get("/admin/").status_code == 200
    assert signed_in(copy)  # the same session record, restored from "remember me"
    asked = copy.get("/admin/")
    assert urlsplit(asked.location).path == "/account/confirm-factor"

    admin_id = admin.id
    next_code = totp.at(time.time() + 30)  # each code counts once: the next step's
    confirmed = owner.post(
        "/account/confirm-factor?next=/admin/", data={"kind": "app", "code": next_code}
    )
    assert confirmed.location == "/admin/"
    assert urlsplit(copy.get("/admin/").location).path == "/account/confirm-factor"
    [record] = db.session.scalars(select(LoginSession).where(LoginSession.person_id == admin_id))
    assert record.factor_verified_at is None  # the record keeps no second copy of the proof


# --- step-up --------------------------------------------------------------------------------------


def test_granting_a_role_asks_again_for_an_old_factor_and_comes_back(client: FlaskClient) -> None:
    admin = add_role(add_person("root@link-j.org"), Role.ADMIN)
    totp = with_app(admin)
    colleague = add_person("colleague@link-j.org")
    factor_used(client, admin, minutes_ago=30)
    grant = {"grant-role": "staff", "grant-organization": "", "grant-reason": "joins"}
    person_page = f"/admin/people/{colleague.id}"

    asked = client.post(
        f"{person_page}/roles", data=grant, headers={"Referer": f"http://localhost{person_page}"}
    )

    assert urlsplit(asked.location).path == "/account/confirm-factor"
    db.session.expire_all()
    assert not colleague.is_staff
    confirmed = client.post(asked.location, data={"kind": "app", "code": totp.now()})
    assert confirmed.location == person_page
    assert [e.details["method"] for e in audit("factor.step_up")] == ["app"]

    granted = client.post(f"{person_page}/roles", data=grant)
    assert granted.status_code == 302 and urlsplit(granted.location).path == person_page
    db.session.expire_all()
    assert colleague.is_staff


def test_a_refund_asks_again_for_an_old_factor(client: FlaskClient, app: Flask) -> None:
    app.config["INVOICE_REGISTRATION_NUMBER"] = "T1010401089234"
    staff = add_role(add_person("staff@link-j.org"), Role.STAFF)
    totp = with_app(staff)
    event = add_event(
        starts_in=timedelta(days=40),
        tickets=({"audience": "non_member", "price": 11000, "currency": "JPY", "tax_rate": 10},),
    )
    registration = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    invoice = invoices.request_invoice(
        registration, person=registration.person, company="日本橋製薬"
    )
    invoices.record_bank_transfer(
        invoice, actor=staff, paid_on=date.today(), amount=11000, payer_kana="ニホンバシ"
    )
    page = f"/admin/payments/{invoice.payment.id}"
    factor_used(client, staff, minutes_ago=11)

    asked = client.post(page, data={"amount": "1000", "reason": "Lunch not served"})

    assert urlsplit(asked.location).path == "/account/confirm-factor"
    payment = db.session.get(Payment, invoice.payment.id)
    db.session.refresh(payment)
    assert payment.refunded_amount == 0
    client.post(asked.location, data={"kind": "app", "code": totp.now()})
    done = client.post(page, data={"amount": "1000", "reason": "Lunch not served"})
    assert done.status_code == 302
    db.session.refresh(payment)
    assert payment.refunded_amount == 1000


def test_removing_a_factor_needs_a_recent_one_and_a_role_keeps_its_last(
    client: FlaskClient,
) -> None:
    staff = add_role(add_person("staff@link-j.org"), Role.STAFF)
    with_app(staff)
    factor_used(client, staff, minutes_ago=60)

    asked = client.post("/account/security/app/remove")
    assert urlsplit(asked.location).path == "/account/confirm-factor"

    factor_used(client, staff, minutes_ago=1)
    refused = client.post("/account/security/app/remove", follow_redirects=True)
    assert "add another one before removing this one" in text(refused)
    assert count(AuthenticatorApp) == 1


def test_a_member_removing_their_last_factor_turns_the_second_step_off(
    client: FlaskClient,
) -> None:
    person = add_person()
    with_app(person)
    recovery.replace_codes(person)
    db.session.commit()
    factor_used(client, person, minutes_ago=1)

    client.post("/account/security/app/remove")

    assert count(AuthenticatorApp) == 0 and count(RecoveryCode) == 0
    assert [e.details["kind"] for e in audit("factor.remove")] == ["app"]
    client.post("/logout")
    assert sign_in(client, person).location == "/account"


# --- where "next" may go ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%2F%2Fevil.example",
        "https://evil.example/",
        "https:/evil.example",
        "/a\nb",
        "/%0a/evil.example",
        "evil.example",
        "",
    ],
)
def test_a_return_address_is_a_path_on_this_site(target: str) -> None:
    assert local_path(target) is None


def test_a_path_with_a_query_is_a_return_address() -> None:
    assert local_path("/admin/people/3?page=2") == "/admin/people/3?page=2"


def test_app_codes_of_the_neighbouring_steps_are_accepted_once() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    previous = pyotp.TOTP(secret).at(now - 30)
    assert apps._matching_step(secret, previous, now) == int(now // 30) - 1
    assert apps._matching_step(secret, pyotp.TOTP(secret).at(now - 90), now) is None


def test_guessing_codes_is_stopped_per_account(client: FlaskClient) -> None:
    person = add_person()
    totp = with_app(person)
    sign_in(client, person)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"

    answers = [
        client.post("/login/second-factor", data={"kind": "app", "code": wrong}).status_code
        for _ in range(11)
    ]

    assert answers == [400] * 10 + [429]
    assert not signed_in(client)


def test_deleting_the_account_erases_its_factors_and_the_export_names_them(
    client: FlaskClient,
) -> None:
    person = add_person()
    with_app(person)
    recovery.replace_codes(person)
    db.session.commit()

    exported = services.export_personal_data(person)["second_factors"]
    assert exported["recovery_codes_left"] == 10 and exported["authenticator_app"] is not None
    assert "secret" not in str(exported)
    services.delete_account(person, password=PASSWORD)

    assert count(AuthenticatorApp) == 0 and count(RecoveryCode) == 0
    assert audit("person.delete")[0].details["second_factors_removed"] == 1


def test_someone_elses_passkey_is_not_found(client: FlaskClient) -> None:
    owner = add_person()
    db.session.add(
        Passkey(person_id=owner.id, name="Key", credential_id=b"k" * 16, public_key=b"p")
    )
    db.session.commit()
    other = add_person()
    factor_used(client, other, minutes_ago=0)

    answer = client.post(
        f"/account/security/passkeys/{db.session.scalar(select(Passkey.id))}/remove"
    )

    assert answer.status_code == 404
    assert count(Passkey) == 1


def test_the_shell_removes_the_factors_of_someone_who_lost_them_all(
    app: Flask, client: FlaskClient
) -> None:
    staff = add_role(add_person("staff@link-j.org"), Role.STAFF)
    with_app(staff)
    recovery.replace_codes(staff)
    db.session.commit()
    factor_used(client, staff, minutes_ago=1)
    runner = app.test_cli_runner()

    with app.app_context():
        refused = runner.invoke(args=["users", "remove-factors", staff.email])
        done = runner.invoke(
            args=["users", "remove-factors", staff.email, "--reason", "called back on record"]
        )

    assert refused.exit_code != 0 and "--reason" in refused.output
    assert done.exit_code == 0, done.output
    assert count(AuthenticatorApp) == 0 and count(RecoveryCode) == 0
    [entry] = audit("factor.remove")
    assert (entry.actor_id, entry.reason, entry.details["kind"]) == (
        None,
        "called back on record",
        "all",
    )
    assert not signed_in(client)  # their sessions ended
    sign_in(client, staff)
    assert urlsplit(client.get("/admin/").location).path == "/account/security"


def test_a_passkey_without_a_name_is_refused_and_nothing_saved(
    client: FlaskClient, app: Flask
) -> None:
    person = add_person()
    sign_in(client, person)
    options = passkey_options(client.get("/account/security"), "create")
    key = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"], rp_id="localhost")

    refused = client.post(
        "/account/security/passkeys",
        data={"name": "  ", "credential": key.create(options)},
        follow_redirects=True,
    )

    assert "Give the passkey a name (at most 100 characters)." in text(refused)
    assert count(Passkey) == 0
