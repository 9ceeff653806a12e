"""What the benchmarks read from responses: X-Cache on cacheable pages, Server-Timing when
asked for (and only then: it tells any client how long each request took)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from tests.factories import add_membership, add_person, another_portal
from tests.roles import login


def test_server_timing_is_off_unless_asked_for(client: FlaskClient, network: None) -> None:
    assert "Server-Timing" not in client.get("/events/").headers


def test_server_timing_says_the_portals_wall_and_cpu_time(app: Flask, network: None) -> None:
    with another_portal(app, SECRET_KEY="timing", PORTAL_SERVER_TIMING=True) as timed:
        timing = timed.test_client().get("/events/").headers["Server-Timing"]
    assert re.fullmatch(r"app;dur=\d+\.\d\d, cpu;dur=\d+\.\d\d", timing), timing


def test_a_cacheable_page_says_whether_it_came_from_the_cache(
    client: FlaskClient, network: None
) -> None:
    person = add_person("cache@example.org")
    add_membership(person, "link-j", status="verified")
    login(client, person)
    assert client.get("/account").headers["X-Cache"] == "miss"
    assert client.get("/account").headers["X-Cache"] == "hit"
    assert "X-Cache" not in client.get("/benefits").headers  # not a cached page


def test_postgresql_sessions_do_not_jit_compile_short_statements(
    app: Flask, postgres_only: None
) -> None:
    """An event's joined definition was estimated costly on tables not yet analysed and JIT
    spent seconds compiling what runs in a millisecond: the portal's sessions turn JIT off."""
    from sqlalchemy import text

    assert db.session.execute(text("SHOW jit")).scalar() == "off"
    assert db.session.execute(text("SHOW lock_timeout")).scalar() != "0"
