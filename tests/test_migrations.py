"""Migrations are the only way the schema is built, so they must match the models exactly;
and a downgrade either loses nothing or refuses, saying what it would lose.

Downgrades run through ``portal db downgrade`` on a database of their own, on SQLite and on
PostgreSQL (a database created for the test and dropped after it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.services import WrittenWhenSent, deliver_due, mail_writer, queue_mail
from portal.organizations.models import ReciprocalService
from portal.organizations.services import seed_network

HEAD = "0016_company_contacts"


def test_models_and_migrations_agree(app: Flask) -> None:
    # The session's database was built by `flask db upgrade` alone (see conftest).
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        f"models differ from migrations; run 'portal db migrate': {differences}"
    )


# --- a database of the test's own -----------------------------------------------------------


def _postgres_server() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        if os.environ.get("PORTAL_REQUIRE_POSTGRES"):
            pytest.fail("this test must run on PostgreSQL in CI")
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL=postgresql://…")
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A portal on an empty database of its own, its app context pushed."""
    created = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
    else:
        server = _postgres_server()
        created = f"{make_url(server).database}_migrations_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_libpq(server), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{created}"')
        url = make_url(server).set(database=created).render_as_string(hide_password=False)
    portal = create_app({"SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None})
    try:
        with portal.app_context():
            yield portal
            db.session.remove()
            db.engine.dispose()
    finally:
        if created is not None:
            with psycopg.connect(_libpq(_postgres_server()), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')


def portal_db(app: Flask, *args: str) -> Result:
    """``portal db …`` as an operator types it."""
    return app.test_cli_runner().invoke(args=["db", *args])


def revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def refusals(result: Result) -> list[str]:
    """The errors ``portal db`` printed (one line each, from Flask-Migrate's logger)."""
    return [
        line[line.index("Error: ") :] for line in result.output.splitlines() if "Error: " in line
    ]


# --- what CI's migration check does ---------------------------------------------------------


def test_an_empty_database_upgrades_downgrades_to_nothing_and_upgrades_again(
    scratch: Flask,
) -> None:
    assert portal_db(scratch, "upgrade").exit_code == 0
    assert revision() == HEAD

    assert portal_db(scratch, "downgrade", "base").exit_code == 0
    assert revision() is None

    assert portal_db(scratch, "upgrade").exit_code == 0
    assert revision() == HEAD


# --- queued mail and 0007 -------------------------------------------------------------------


def _invitation(to: str, **written: Any) -> OutboxMessage:
    context = {
        "company": SimpleNamespace(name="三井ライフサイエンス株式会社"),
        "inviter": SimpleNamespace(
            family_name="三井", given_name="一郎", romanized_name="", deleted_at=None
        ),
        "accept_url": "https://portal.link-j.org/invitations/tok-123",
        "register_url": "https://portal.link-j.org/register",
    }
    if written:
        return queue_mail(to=to, template="accounts/invitation", locale="ja", **written)
    return queue_mail(to=to, template="accounts/invitation", locale="ja", **context)


@mail_writer("test-migration-invitation")
def _write_invitation(argument: str) -> dict[str, Any]:
    return {
        "company": SimpleNamespace(name=argument),
        "inviter": SimpleNamespace(
            family_name="三井", given_name="一郎", romanized_name="", deleted_at=None
        ),
        "accept_url": "https://portal.link-j.org/invitations/tok-123",
        "register_url": "https://portal.link-j.org/register",
    }


def test_queued_mail_survives_a_downgrade_of_0007_and_back(scratch: Flask) -> None:
    portal_db(scratch, "upgrade")
    queued = _invitation("aoi@mitsui-life.example")
    db.session.commit()
    subject, body = queued.subject, queued.body_text
    db.session.close()  # the test's own read would hold the table's lock

    assert portal_db(scratch, "downgrade", "0006_indexes").exit_code == 0
    assert portal_db(scratch, "upgrade").exit_code == 0
    sent: list[EmailMessage] = []
    deliver_due(sent.append)

    [email] = sent
    assert (email["To"], email["Subject"]) == ("aoi@mitsui-life.example", subject)
    assert email.get_content().strip() == body.strip()


def test_downgrading_0007_refuses_while_mail_waits_to_be_written_and_says_so(
    scratch: Flask,
) -> None:
    portal_db(scratch, "upgrade")
    _invitation(
        "aoi@mitsui-life.example",
        written_when_sent=WrittenWhenSent("test-migration-invitation", "三井ライフ"),
    )
    db.session.commit()
    db.session.close()

    refused = portal_db(scratch, "downgrade", "0006_indexes")

    assert refused.exit_code == 1
    assert refusals(refused) == [
        "Error: Downgrading 0007_outbox_written would lose data: queued messages the mail "
        "worker has not written yet: 1. Let the mail worker send them first (portal outbox "
        "deliver), then downgrade. To downgrade anyway and lose it: portal db downgrade "
        "-x lose-data=yes <revision>. Nothing was changed by this step; 'portal db current' "
        "says where the database is."
    ]
    # PostgreSQL undoes the whole downgrade; SQLite keeps the later steps that lost nothing.
    assert revision() == (HEAD if db.engine.dialect.name == "postgresql" else "0007_outbox_written")
    [waiting] = db.session.scalars(select(OutboxMessage)).all()
    assert waiting.written_from == {"writer": "test-migration-invitation", "argument": "三井ライフ"}

    # As the refusal says: once the worker has sent it, the downgrade loses nothing.
    sent: list[EmailMessage] = []
    deliver_due(sent.append)
    db.session.close()
    assert portal_db(scratch, "downgrade", "0006_indexes").exit_code == 0
    assert portal_db(scratch, "upgrade").exit_code == 0
    [kept] = db.session.scalars(select(OutboxMessage)).all()
    assert kept.status == OutboxStatus.SENT
    assert kept.subject == sent[0]["Subject"] and kept.subject.startswith("三井ライフ")


# --- real data all the way down -------------------------------------------------------------


def test_downgrading_to_nothing_refuses_on_real_data_and_names_it(scratch: Flask) -> None:
    portal_db(scratch, "upgrade")
    seed_network()
    db.session.close()

    refused = portal_db(scratch, "downgrade", "base")

    assert refused.exit_code == 1
    [refusal] = refusals(refused)
    # The seed's instructions on the claimable services are the first thing it would lose.
    assert refusal.startswith(
        "Error: Downgrading 0005_benefits would lose data: reciprocal services with claim "
        "terms (approval, limits, validity, redemption): 20."
    )
    # PostgreSQL undoes the whole downgrade; SQLite keeps the steps that lost nothing.
    assert revision() == (HEAD if db.engine.dialect.name == "postgresql" else "0005_benefits")

    assert portal_db(scratch, "downgrade", "-x", "lose-data=yes", "0004_payments").exit_code == 0
    refused = portal_db(scratch, "downgrade", "base")
    assert refused.exit_code == 1
    [refusal] = refusals(refused)
    assert refusal.startswith(
        "Error: Downgrading 0001_network would lose data: rows in reciprocal_service: 35, "
        "rows in agreement: 6, rows in organization: 8."
    )

    assert portal_db(scratch, "downgrade", "-x", "lose-data=yes", "base").exit_code == 0
    assert revision() is None


def test_offers_split_from_one_clause_cannot_go_below_0005_even_when_losing_data(
    scratch: Flask,
) -> None:
    portal_db(scratch, "upgrade")
    seed_network()
    clause = db.session.scalars(select(ReciprocalService).order_by(ReciprocalService.id)).first()
    assert clause is not None
    db.session.add(
        ReciprocalService(
            agreement_id=clause.agreement_id,
            provider_id=clause.provider_id,
            beneficiary_id=clause.beneficiary_id,
            category=clause.category,
            title_en="A second offer under the same clause",
        )
    )
    db.session.commit()
    db.session.close()

    refused = portal_db(scratch, "downgrade", "-x", "lose-data=yes", "0004_payments")

    assert refused.exit_code == 1
    assert refusals(refused) == [
        "Error: Cannot downgrade 0005_benefits: the older schema cannot hold these (MOU "
        "clauses offered as several services (one per clause before this revision): 1). "
        "Merge each clause's offers into one first. Nothing was changed by this step; "
        "'portal db current' says where the database is."
    ]
    assert revision() in (HEAD, "0005_benefits")
