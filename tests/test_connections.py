"""A pooled connection the database closed (a restart, ``pg_terminate_backend``) is replaced
before a request uses it, found by its socket rather than by a round trip on every request
(``portal.db.check_connections_by_their_socket``)."""

from __future__ import annotations

import time

import psycopg
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal.db import connection_was_closed
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
