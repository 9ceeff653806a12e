"""A request's transaction ends with COMMIT when all it did was read, so PostgreSQL keeps the
statements it prepared (``portal.db.end_read_only_transaction``); anything else is rolled back
as before."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Person
from portal.db import commit_keeping_what_is_loaded, end_read_only_transaction
from portal.extensions import db
from tests.factories import add_membership, add_person, another_portal, recorded_statements
from tests.roles import login


@pytest.fixture
def ends() -> Iterator[list[str]]:
    """How each transaction on the database ended: "commit" or "rollback"."""
    seen: list[str] = []

    def committed(connection: object) -> None:
        seen.append("commit")

    def rolled_back(connection: object) -> None:
        seen.append("rollback")

    event.listen(db.engine, "commit", committed)
    event.listen(db.engine, "rollback", rolled_back)
    yield seen
    event.remove(db.engine, "commit", committed)
    event.remove(db.engine, "rollback", rolled_back)


def test_a_transaction_that_only_read_is_committed(app: Flask, ends: list[str]) -> None:
    db.session.scalar(select(func.count()).select_from(Person))

    end_read_only_transaction(db.session())

    assert ends == ["commit"]
    assert not db.session().in_transaction()


def test_a_transaction_that_wrote_is_left_to_be_rolled_back(app: Flask, ends: list[str]) -> None:
    db.session.execute(
        Person.__table__.insert().values(
            email="unsaved@example.org",
            email_normalized="unsaved@example.org",
            password_hash="x",
            family_name="Unsaved",
            given_name="Row",
        )
    )

    end_read_only_transaction(db.session())
    db.session.remove()

    assert ends == ["rollback"]
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0


def test_changes_not_yet_flushed_are_left_to_be_rolled_back(app: Flask, ends: list[str]) -> None:
    db.session.scalar(select(func.count()).select_from(Person))
    db.session.add(Person(email="pending@example.org", family_name="P", given_name="Q"))

    end_read_only_transaction(db.session())

    assert ends == []
    assert db.session().in_transaction()
    db.session.rollback()


def test_a_session_that_never_reached_the_database_is_left_alone(
    app: Flask, ends: list[str]
) -> None:
    end_read_only_transaction(db.session())

    assert ends == []


def test_the_signed_in_persons_statement_stays_prepared_between_requests(
    app: Flask, network: None, postgres_only: None
) -> None:
    """psycopg forgets what it prepared on a connection at every rollback: when each request
    ended with one, the nine-table statement of the signed-in person was planned afresh on
    every request."""
    member = add_person("prepared@example.org")
    add_membership(member, "link-j", status="verified")
    member_id = member.id  # read here: inside the other app, it would load on that app's pool
    settings = {
        # One pooled connection (and one more for a moment), so the requests and the check
        # share it; no store, so the person is read from the database on every request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 1},
        "SECRET_KEY": "prepared",
        "PAGE_CACHE_URL": "",
    }
    with another_portal(app, **settings) as served:
        client = served.test_client()
        with served.app_context():
            login(client, db.session.get(Person, member_id))
            db.session.remove()
        for _ in range(12):
            assert client.get("/events/").status_code == 200
        with served.app_context():
            plans = db.session.execute(
                text(
                    "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%FROM person JOIN login_session%'"
                )
            ).scalar()
            db.session.remove()
    assert plans is not None and plans >= 5, plans


def test_prepared_statements_can_be_turned_off_for_a_pooler(
    app: Flask, postgres_only: None
) -> None:
    with (
        another_portal(app, DATABASE_PREPARED_STATEMENTS=False) as unprepared,
        unprepared.app_context(),
    ):
        driver = db.session.connection().connection.driver_connection
        threshold = driver.prepare_threshold  # type: ignore[union-attr]
        db.session.remove()
    assert threshold is None
    assert db.session.connection().connection.driver_connection.prepare_threshold == 5  # type: ignore[union-attr]


def test_a_commit_the_database_fails_is_left_to_the_closing_session(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database went away after the page was answered: the teardown neither raises nor
    commits anything; closing the session rolls back as before."""
    from sqlalchemy.exc import OperationalError

    db.session.scalar(select(func.count()).select_from(Person))
    session = db.session()

    def unavailable() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(session, "commit", unavailable)

    end_read_only_transaction(session)  # no exception

    monkeypatch.undo()
    db.session.remove()
    assert not db.session().in_transaction()


def test_a_commit_keeping_what_is_loaded_reads_nothing_again(app: Flask) -> None:
    person = add_person("keeps@example.jp")
    person.affiliation = "Nihonbashi Lab"
    commit_keeping_what_is_loaded(db.session())

    with recorded_statements() as statements:
        seen = (person.email, person.affiliation)

    assert seen == ("keeps@example.jp", "Nihonbashi Lab")
    assert statements == []
    assert db.session.scalar(select(Person.affiliation).where(Person.id == person.id)) == (
        "Nihonbashi Lab"
    )
    # The session expires on commit again afterwards, as every other commit expects.
    assert db.session().expire_on_commit is True


def test_a_failed_commit_keeping_what_is_loaded_leaves_expiring_on(app: Flask) -> None:
    add_person("twice@example.jp")
    db.session.add(Person(email="twice@example.jp", email_normalized="twice@example.jp"))

    with pytest.raises(IntegrityError):
        commit_keeping_what_is_loaded(db.session())

    db.session.rollback()
    assert db.session().expire_on_commit is True
