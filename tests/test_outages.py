"""What keeps working while a service the portal uses is away.

Redis: sign-in, sign-up and registering for an event keep working, with rate limits counted
in each process's memory until Redis answers again, and one warning in the log. The test
stops a redis-server of its own on a free port, never the shared one.

The database: every page answers with the portal's own error page, in the viewer's
language, rendered without asking the database anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.test import TestResponse

from portal import create_app
from portal.accounts.models import Person, Role
from portal.events.models import Event
from portal.extensions import db, limiter
from tests.factories import (
    PASSWORD,
    PortalTestClient,
    add_event,
    add_person,
    add_role,
    count,
    member_of,
    org,
    registrations,
    ticket,
)
from tests.roles import login

EN = {"Accept-Language": "en"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server started by the test on a free port, that it may stop and start again."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def keys(self, pattern: str) -> list[bytes]:
        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            return list(client.keys(pattern))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("PORTAL_REQUIRE_REDIS"):
            pytest.fail("redis-server is required in CI to stop a Redis of the test's own")
        pytest.skip("needs redis-server on the PATH to start a Redis of the test's own")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def portal_with_redis_at(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Flask]]:
    """Second portals on the session's database, configured as production is: REDIS_URL."""
    # The limiter is one object shared by every app in this process: put it back afterwards.
    saved = dict(vars(limiter))
    made: list[Flask] = []

    def make(redis_url: str) -> Flask:
        monkeypatch.setenv("REDIS_URL", redis_url)
        portal = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "WTF_CSRF_ENABLED": False,
                "SERVER_NAME": None,
            }
        )
        portal.test_client_class = PortalTestClient
        made.append(portal)
        return portal

    try:
        yield make
    finally:
        for portal in made:
            with portal.app_context():
                db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)


@pytest.fixture
def portal_on_private_redis(
    private_redis: PrivateRedis, portal_with_redis_at: Callable[[str], Flask]
) -> Flask:
    return portal_with_redis_at(private_redis.url)


def sign_up(client: FlaskClient, email: str) -> TestResponse:
    return client.post(
        "/register",
        data={
            "email": email,
            "password": "correct-horse-battery-9",
            "password_again": "correct-horse-battery-9",
            "family_name": "Tanaka",
            "given_name": "Ken",
            "organization": str(org("biocom").id),
            "membership_kind": "individual",
            "member_number": "BC-7",
        },
        headers=EN,
    )


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_sign_in_sign_up_and_event_registration_keep_working_while_redis_is_away(
    network: None,
    portal_on_private_redis: Flask,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = member_of("link-j", "aiko@link-j.example")
    event = add_event()
    client = portal_on_private_redis.test_client()
    refused = client.post("/login", data={"email": "nobody@x.example", "password": "wrong-1234"})
    assert refused.status_code == 200
    assert private_redis.keys("LIMITS*"), "limits are counted in Redis while it is there"
    assert client.get("/healthz").get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
    }

    private_redis.stop()
    caplog.clear()
    caplog.set_level(logging.INFO)

    signed_up = sign_up(client, "ken@biocom-member.example")
    signed_in = client.post("/login", data={"email": member.email, "password": PASSWORD})
    event_page = client.get(f"/events/{event.slug}", headers=EN)
    registered = client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": str(ticket(event, "linkj_member").id)},
        headers=EN,
    )
    health = client.get("/healthz")

    assert signed_up.status_code == 200
    assert "Check your email" in signed_up.get_data(as_text=True)
    assert count(Person) == 2
    assert signed_in.status_code == 302 and signed_in.location.endswith("/account")
    assert event_page.status_code == 200
    assert registered.status_code == 302 and "/tickets/" in registered.location
    assert [r.person_id for r in registrations(event)] == [member.id]
    assert (health.status_code, health.get_json()) == (
        200,
        {"status": "degraded", "checks": {"database": "ok", "redis": "unreachable"}},
    )
    [limits_warning, cache_warning] = warnings_in(caplog)  # once each, not once a request
    assert limits_warning == "Rate limit storage unreachable - falling back to in-memory storage"
    assert cache_warning.startswith(
        "page cache: Redis unavailable, pages are rendered afresh until it answers"
    )


def test_limits_still_hold_in_each_process_while_redis_is_away(
    network: None,
    portal_on_private_redis: Flask,
    private_redis: PrivateRedis,
) -> None:
    client = portal_on_private_redis.test_client()
    private_redis.stop()

    attempts = [
        client.post("/login", data={"email": "aiko@link-j.example", "password": f"wrong-{n}-xx"})
        for n in range(6)
    ]

    assert [a.status_code for a in attempts] == [200] * 5 + [429]


def test_limits_go_back_to_redis_when_it_answers_again(
    network: None,
    portal_on_private_redis: Flask,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = portal_on_private_redis.test_client()
    private_redis.stop()
    client.post("/login", data={"email": "aiko@link-j.example", "password": "wrong-0-xx"})
    # An event's page asks the shared generations for its remembered definition (the event
    # list, rendered afresh since issue 19, asks Redis nothing).
    client.get("/events/no-such-event", headers=EN)
    private_redis.start()
    caplog.set_level(logging.INFO)

    # flask-limiter asks Redis again after 1, 2, 4… (at most 32) seconds, on a limited request.
    deadline = time.monotonic() + 90
    attempt = 0
    while not private_redis.keys("LIMITS*"):
        attempt += 1
        assert time.monotonic() < deadline, "the limits never went back to Redis"
        client.post(
            "/login",
            data={"email": f"poll{attempt}@x.example", "password": "wrong-1234"},
            environ_base={"REMOTE_ADDR": f"10.0.{attempt // 200}.{attempt % 200 + 1}"},
        )
        time.sleep(0.2)

    assert "Rate limit storage recovered" in [r.getMessage() for r in caplog.records]
    page = client.get("/events/no-such-event", headers=EN)
    assert page.status_code == 404
    assert "page cache: Redis answers again" in [r.getMessage() for r in caplog.records]


def test_no_call_to_redis_waits_longer_than_half_a_second(
    portal_with_redis_at: Callable[[str], Flask],
) -> None:
    # Behind a partition Redis answers nothing: redis-py's default (5 s a call, several calls
    # a request) would hold a web worker that long on every limited request and cached page.
    portal = portal_with_redis_at("redis://127.0.0.1:9/0")
    clients = {
        "rate limits": limiter.storage.get_connection(),  # type: ignore[attr-defined]
        "page cache": portal.extensions["versions"]._redis,
    }
    for name, client in clients.items():
        options = client.connection_pool.connection_kwargs
        assert (options.get("socket_connect_timeout"), options.get("socket_timeout")) == (
            0.5,
            0.5,
        ), name


def test_clearing_the_page_cache_while_redis_is_away_says_it_did_not(
    portal_on_private_redis: Flask, private_redis: PrivateRedis
) -> None:
    private_redis.stop()

    with portal_on_private_redis.app_context():
        result = portal_on_private_redis.test_cli_runner().invoke(args=["cache", "clear"])

    assert result.exit_code == 1
    assert "the page cache was not cleared: Redis is not answering" in result.output


def test_a_logout_a_process_could_not_tell_redis_of_still_reaches_the_other_processes(
    network: None, private_redis: PrivateRedis, portal_with_redis_at: Callable[[str], Flask]
) -> None:
    """Rule 15 with the page cache: the process a member logs out on is cut off from Redis at
    that moment, so the bump of their pages' generation is owed; it is sent before that
    process reads Redis again, and the page another process keeps for a copied cookie then
    signs nobody in."""
    here, there = portal_with_redis_at(private_redis.url), portal_with_redis_at(private_redis.url)
    member = add_person()
    browser, thief = there.test_client(), here.test_client()
    signed_in = browser.post("/login", data={"email": member.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    thief.set_cookie("session", browser.get_cookie("session").value)  # type: ignore[union-attr]
    assert thief.get("/account", headers=EN).status_code == 200
    kept = thief.get("/account", headers=EN)
    assert (kept.status_code, kept.headers["X-Cache"]) == (200, "hit")

    store = there.extensions["versions"]
    reachable = store._redis
    store._redis = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    assert browser.post("/logout").status_code == 302  # ended; the bump did not reach Redis
    store._redis = reachable
    assert there.test_client().get("/", headers=EN).status_code == 200  # it asks Redis again

    refused = thief.get("/account", headers=EN)
    assert refused.status_code == 302 and "/login" in refused.location


def test_an_event_renamed_before_redis_restarted_shows_its_new_name(
    network: None, portal_on_private_redis: Flask, private_redis: PrivateRedis
) -> None:
    """Each process keeps an event's definition under generations in Redis: a Redis restarted
    with nothing on disk must not make the definition kept before the rename good again."""
    event = add_event()
    slug, event_id = event.slug, event.id
    visitor = portal_on_private_redis.test_client()
    assert event.title_en in visitor.get(f"/events/{slug}", headers=EN).get_data(as_text=True)
    with portal_on_private_redis.app_context():
        renamed = db.session.get(Event, event_id)
        assert renamed is not None
        renamed.title_en = "Kobe Biomedical Night"
        db.session.commit()

    private_redis.stop()
    private_redis.start()

    page = visitor.get(f"/events/{slug}", headers=EN)
    assert page.status_code == 200 and "Kobe Biomedical Night" in page.get_data(as_text=True)


# --- the database is away ------------------------------------------------------------------

#: Where no database answers: a PostgreSQL port nobody listens on, a SQLite file in a folder
#: that does not exist.
UNREACHABLE = {
    "postgresql": lambda tmp_path: f"postgresql://postgres@127.0.0.1:{free_port()}/portal",
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'missing' / 'portal.sqlite3'}",
}
UNAVAILABLE_HEADING = {
    "en": "The portal is unavailable for a moment",
    "ja": "ポータルは一時的にご利用いただけません",
}
NOT_FOUND_HEADING = {"en": "Page not found", "ja": "ページが見つかりません"}


@pytest.fixture(scope="module", params=sorted(UNREACHABLE))
def portal_with_its_database_away(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """A portal whose database does not answer, one for the module's tests: with no database
    a request keeps nothing, and an app (its translations loaded) costs a tenth of a second."""
    # Not TESTING: errors are handled as in production, not raised into the test.
    portal = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": UNREACHABLE[request.param](tmp_path_factory.mktemp("away")),
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
            "PAGE_CACHE_URL": "memory://",
        }
    )
    portal.test_client_class = PortalTestClient
    yield portal
    with portal.app_context():
        db.engine.dispose()


@pytest.fixture
def portal_without_database(
    portal_with_its_database_away: Flask,
) -> Iterator[tuple[Flask, list[str]]]:
    """A portal whose database does not answer, and the connections this test tried to open."""
    portal = portal_with_its_database_away
    attempts: list[str] = []

    def attempt(*args: object) -> None:
        attempts.append("connect")

    with portal.app_context():
        event.listen(db.engine, "do_connect", attempt)
    yield portal, attempts
    with portal.app_context():
        event.remove(db.engine, "do_connect", attempt)
        db.engine.dispose()


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize(
    ("method", "path", "signed_in"),
    [
        ("GET", "/", False),
        ("GET", "/events/", False),  # a cached page
        ("GET", "/events/forum-2030", False),
        ("POST", "/login", False),
        ("GET", "/account", True),
        ("GET", "/events/", True),
    ],
)
def test_a_database_outage_answers_the_portals_own_503_page(
    portal_without_database: tuple[Flask, list[str]],
    method: str,
    path: str,
    signed_in: bool,
    language: str,
) -> None:
    portal, attempts = portal_without_database
    client = portal.test_client()
    if signed_in:
        with client.session_transaction() as session:
            session["_user_id"] = "1:1"
            session["_fresh"] = True

    response = client.open(
        path,
        method=method,
        data={"email": "aiko@link-j.example", "password": "x" * 12},
        headers={"Accept-Language": language},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert f'<html lang="{language}">' in html
    assert UNAVAILABLE_HEADING[language] in html
    assert ("Log in" if language == "en" else "ログイン") in html  # the header, anonymous
    # The request's own attempt, and none while rendering the page that says so.
    assert attempts == ["connect"]


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_missing_page_during_an_outage_is_the_portals_own_404(
    portal_without_database: tuple[Flask, list[str]], language: str
) -> None:
    portal, attempts = portal_without_database
    client = portal.test_client()

    response = client.get("/no-such-page", headers={"Accept-Language": language})

    assert response.status_code == 404
    assert NOT_FOUND_HEADING[language] in response.get_data(as_text=True)
    assert attempts == []


def test_a_signed_in_person_s_missing_page_during_an_outage_is_still_a_404(
    portal_without_database: tuple[Flask, list[str]],
) -> None:
    portal, attempts = portal_without_database
    client = portal.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"

    response = client.get("/no-such-page", headers=EN)

    assert response.status_code == 404
    assert NOT_FOUND_HEADING["en"] in response.get_data(as_text=True)
    assert attempts == ["connect"]  # loading the person for the header, once, before rendering


def test_a_signed_in_person_s_missing_page_shows_their_menu_while_the_database_is_up(
    client: FlaskClient, network: None
) -> None:
    staff = add_role(add_person("events@link-j.org"), Role.STAFF)
    login(client, staff)

    response = client.get("/no-such-page", headers=EN)

    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Log out" in html and "Administration" in html
