"""A pooled connection the database closed (a restart, ``pg_terminate_backend``) is replaced
before a request uses it, found by its socket rather than by a round trip on every request
(``portal.db.check_connections_by_their_socket``); and the cursors PostgreSQL connections are
given describe their results only when asked (``portal.db.PostgresCursor``)."""

from __future__ import annotations

import time

import psycopg
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal.db import DescriptionOnDemand, PostgresCursor, connection_was_closed
from portal.extensions import db
from tests.factories import another_portal


def _end_session(app: Flask, pid: int) -> None:
    """What a database restart does to a connection: from a connection of its own."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as own:
        own.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.3)  # the ended session's last words reach its socket


def test_a_connection_the_database_ended_is_replaced_before_a_page_uses_it(
    app: Flask, network: None, postgres_only: None
) -> None:
    settings = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}}
    with another_portal(app, PAGE_CACHE_URL="", **settings) as served:
        client = served.test_client()
        assert client.get("/events/").status_code == 200
        with served.app_context():
            first = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            db.session.remove()

        _end_session(app, first)

        response = client.get("/events/")
        assert response.status_code == 200, response.status_code
        with served.app_context():
            second = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            db.session.remove()
    assert second != first


def test_an_idle_connection_is_closed_only_when_the_database_closed_it(
    app: Flask, postgres_only: None
) -> None:
    with another_portal(app) as served, served.app_context():
        driver = db.session.connection().connection.driver_connection
        db.session.commit()
        assert not connection_was_closed(driver)

        _end_session(app, driver.info.backend_pid)

        assert connection_was_closed(driver)
        db.session.remove()


# --- cursors describe their results on demand (portal.db.PostgresCursor) ---------------------


def _columns_built(monkeypatch) -> list[int]:  # noqa: ANN001
    """Count every psycopg ``Column`` built from here on, by psycopg's description or ours."""
    built: list[int] = []
    original = psycopg.Column.__init__

    def counted(column, cursor, index):  # noqa: ANN001, ANN202
        built.append(index)
        original(column, cursor, index)

    monkeypatch.setattr(psycopg.Column, "__init__", counted)
    return built


def test_a_page_whose_statements_ran_before_builds_no_column_descriptions(
    app: Flask, client, network: None, postgres_only: None, no_page_cache: None, monkeypatch
) -> None:
    for _warm in range(2):
        assert client.get("/events/").status_code == 200
    built = _columns_built(monkeypatch)

    assert client.get("/events/").status_code == 200

    assert built == []


def test_a_description_read_is_the_one_psycopg_gives(app: Flask, postgres_only: None) -> None:
    with app.app_context():
        driver = db.session.connection().connection.driver_connection
        assert driver.cursor_factory is PostgresCursor
        sql = "SELECT 1::int4 AS one, 'x'::text AS word, now() AS moment"
        ours = driver.cursor()
        ours.execute(sql)
        theirs = psycopg.Cursor(driver)
        theirs.execute(sql)

        described = ours.description
        assert isinstance(described, DescriptionOnDemand)
        assert len(described) == 3
        assert [tuple(c) for c in described] == [tuple(c) for c in theirs.description]
        assert [c.name for c in described] == ["one", "word", "moment"]
        assert described[-1].name == "moment"
        assert [c.name for c in described[1:]] == ["word", "moment"]
        db.session.rollback()


def test_a_description_kept_describes_its_own_result_after_the_cursor_moved_on(
    app: Flask, postgres_only: None
) -> None:
    with app.app_context():
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute("SELECT 1 AS first_statement")
        kept = cursor.description
        cursor.execute("SELECT 2 AS second_one, 3 AS and_another")

        assert [c.name for c in kept] == ["first_statement"]
        assert [c.name for c in cursor.description] == ["second_one", "and_another"]
        cursor.execute("CREATE TEMPORARY TABLE described_here (n int)")
        assert cursor.description is None
        cursor.execute("SELECT FROM described_here")  # rows of no columns
        assert cursor.description is not None and len(cursor.description) == 0
        db.session.rollback()
