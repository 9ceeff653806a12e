"""Shared fixtures: one app and one migrated database per test run, emptied after each test.

The database is SQLite in a temporary folder unless ``TEST_DATABASE_URL`` names another
(CI points it at a PostgreSQL database it creates for the run).
"""

from __future__ import annotations

import gc
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import delete, insert, select
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db, limiter
from tests import roles
from tests.factories import PortalTestClient, SMTPCapture, recorded_statements

#: Localstripe and the card fixtures, shared by the payments and dues tests.
pytest_plugins = ["tests.payments.stripe_fixtures"]

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(
        "PORTAL_INSTANCE_PATH", str(Path(config.rootpath) / ".pytest_cache" / "instance")
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal-test.sqlite3'}"
    )
    if os.environ.get("PORTAL_REQUIRE_POSTGRES") and not url.startswith("postgres"):
        pytest.fail("PORTAL_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not PostgreSQL")
    return url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
            # The whole suite runs with the page cache on: every test that changes something
            # and then reads a page also shows that the change reached the cached page.
            "PAGE_CACHE_URL": "memory://",
            "PAGE_CACHE_CHECK_SCOPES": True,
            # Argon2id at its lowest cost: production's (OWASP's minimum) costs tens of
            # milliseconds a hash by design, and the suite signs people up and in by the hundred.
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 8,
        }
    )
    app.test_client_class = PortalTestClient
    with app.app_context():
        upgrade()
        # The app, its models and templates live for the whole run: keep the garbage
        # collector from walking them again on every collection of the oldest generation.
        gc.collect()
        gc.freeze()
        yield app
        db.session.remove()
        db.engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Within each module, the read-only role-matrix cases run first and together, so that
    they share one world (tests/roles.py) instead of building it again after each write case."""
    position: dict[Any, int] = {}
    for index, item in enumerate(items):
        position.setdefault(item.module, index)
    items.sort(
        key=lambda item: (
            position[item.module],
            item.get_closest_marker("read_only") is None,
        )
    )


#: The world the read-only role-matrix cases share, while the database holds it.
shared_world = roles.SharedWorld()


def empty_database() -> None:
    # Through the session, so that the page cache's generations move on (portal/versions.py).
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()
    db.session.remove()


@pytest.fixture(autouse=True)
def _clean_database(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from an empty, migrated database (the schema is built once), except
    the read-only role-matrix cases, which find the world their module shares."""
    if request.node.get_closest_marker("read_only") is None:
        if shared_world.present:
            shared_world.forget()
            empty_database()
        yield
        limiter.reset()
        empty_database()
        return
    with roles.writes_recorded() as written:
        shared_world.recording = written
        yield
    shared_world.recording = None
    limiter.reset()
    db.session.rollback()
    db.session.remove()
    if written:
        shared_world.forget()
        empty_database()
        pytest.fail(
            f"a read-only role-matrix case wrote to the database ({len(written)} statements, "
            f"first: {written[0][:200]!r}); let the matrix's ``writes`` count it as a write case"
        )


@pytest.fixture
def matrix_world(app: Flask, request: pytest.FixtureRequest) -> Callable[[Callable[[], T]], T]:
    """``matrix_world(build)``: the network and the world ``build`` makes in it: shared by the
    module's read-only cases, built afresh for a write case."""

    def provide(build: Callable[[], T]) -> T:
        if request.node.get_closest_marker("read_only") is None:
            seed_network_rows()
            return build()
        return shared_world.provide(build, empty_database, seed_network_rows)

    return provide


#: The rows the seed document gives the network, once it has been seeded the slow way.
_network_rows: dict[Any, list[dict[str, Any]]] = {}


def seed_network_rows() -> None:
    """The LINK-J network from the seed document: seeded through the service once a run, then
    written again from the rows that first seeding wrote (the same rows, far faster)."""
    from portal.organizations.services import seed_network

    if not _network_rows:
        with roles.writes_recorded() as written:
            seed_network()
        tables = {
            match.group(1).strip('"').lower()
            for statement in written
            if (match := re.match(r"\s*INSERT INTO\s+(\S+)", statement, re.IGNORECASE))
        }
        for table in db.metadata.sorted_tables:
            if table.name.lower() in tables:
                _network_rows[table] = [
                    dict(row._mapping) for row in db.session.execute(select(table))
                ]
        return
    for table, rows in _network_rows.items():
        db.session.execute(insert(table), rows)
    db.session.commit()


@pytest.fixture
def count_queries(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the database receives while the test runs."""
    with recorded_statements() as statements:
        yield statements


@pytest.fixture
def redis_url() -> str:
    """A Redis for tests of what several processes share; CI must have one."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        if os.environ.get("PORTAL_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required in CI but not reachable at {url}")
        pytest.skip(f"needs Redis at {url}")
    return url


@pytest.fixture
def no_page_cache(app: Flask) -> Iterator[None]:
    """Render every page afresh (to count what rendering costs, not what a cache hit costs)."""
    store = app.extensions["versions"]
    app.extensions["versions"] = None
    yield
    app.extensions["versions"] = store


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def network(app: Flask) -> None:
    """The LINK-J network from the seed document."""
    seed_network_rows()


@pytest.fixture
def english() -> Iterator[None]:
    """Services called as a page calls them: with the viewer's language chosen (English)."""
    with force_locale("en"):
        yield


@pytest.fixture
def cast(network: None) -> roles.Cast:
    """The people of the management stories (tests/roles.py)."""
    return roles.build_cast()


@pytest.fixture
def story(network: None) -> roles.Story:
    """The people and services of the benefit stories (tests/roles.py)."""
    return roles.build_story()


@pytest.fixture
def postgres_only(app: Flask) -> None:
    """For rules only PostgreSQL can show (several processes, row locks)."""
    if db.engine.dialect.name != "postgresql":
        if os.environ.get("PORTAL_REQUIRE_POSTGRES"):
            pytest.fail("this test must run on PostgreSQL in CI")
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL=postgresql://…")


@pytest.fixture
def csrf_enabled(app: Flask) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SMTPCapture]:
    """Point the portal's mail settings at a real SMTP server for the length of a test."""
    from aiosmtpd.controller import Controller

    capture = SMTPCapture(port=0)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            capture.messages.append(
                message_from_bytes(envelope.original_content or envelope.content, policy=default)
            )
            return "250 Message accepted for delivery"

    with socket.socket() as probe:  # aiosmtpd cannot start on port 0: find a free one
        probe.bind(("127.0.0.1", 0))
        capture.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=capture.port)
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=capture.port)
    try:
        yield capture
    finally:
        app.config.update(saved)
        controller.stop()


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """Base URL of the session's app, served by Werkzeug in a daemon thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
