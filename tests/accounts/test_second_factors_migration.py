"""Migration 0011 (rule 17): who manages at the upgrade gets a grace period from that moment,
and a downgrade refuses to drop people's passkeys and apps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import text

from portal.accounts.factors.models import FactorGrace
from portal.extensions import db
from tests.test_migrations import portal_db, refusals, revision, scratch  # noqa: F401


def test_people_managing_at_the_upgrade_count_their_grace_from_it(scratch: Flask) -> None:  # noqa: F811
    assert portal_db(scratch, "upgrade", "0009_claim_period").exit_code == 0
    long_ago = datetime(2020, 4, 1, tzinfo=UTC)
    with db.engine.begin() as connection:
        for person_id, email in ((1, "staff@link-j.org"), (2, "member@example.jp")):
            connection.execute(
                text(
                    "INSERT INTO person (id, email, email_normalized, family_name, given_name,"
                    " family_name_kana, given_name_kana, romanized_name, affiliation,"
                    " session_version, created_at, updated_at)"
                    " VALUES (:id, :email, :email, 'A', 'B', '', '', '', '', 1, :at, :at)"
                ),
                {"id": person_id, "email": email, "at": long_ago},
            )
        connection.execute(
            text("INSERT INTO role_grant (person_id, role, granted_at) VALUES (1, 'staff', :at)"),
            {"at": long_ago},
        )

    before = datetime.now(UTC)
    assert portal_db(scratch, "upgrade").exit_code == 0

    [grace] = db.session.scalars(db.select(FactorGrace)).all()
    assert grace.person_id == 1
    assert before - timedelta(seconds=1) <= grace.counts_from <= datetime.now(UTC)


def test_a_downgrade_refuses_to_drop_passkeys(scratch: Flask) -> None:  # noqa: F811
    assert portal_db(scratch, "upgrade").exit_code == 0
    upgraded = revision()
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO person (id, email, email_normalized, family_name, given_name,"
                " family_name_kana, given_name_kana, romanized_name, affiliation,"
                " session_version, created_at, updated_at)"
                " VALUES (1, 'a@example.jp', 'a@example.jp', 'A', 'B', '', '', '', '', 1,"
                " :at, :at)"
            ),
            {"at": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO passkey (person_id, name, credential_id, public_key, sign_count,"
                " transports, created_at) VALUES (1, 'Key', :id, :key, 0, '', :at)"
            ),
            {"id": b"credential", "key": b"key", "at": datetime.now(UTC)},
        )

    refused = portal_db(scratch, "downgrade", "0009_claim_period")

    assert any("0011_second_factors would lose data" in line for line in refusals(refused))
    # PostgreSQL rolls the whole downgrade back; SQLite (no transactional DDL) stops at the
    # step that would lose data, the later steps' rebuilds having kept every passkey.
    postgresql = db.engine.dialect.name == "postgresql"
    assert revision() == (upgraded if postgresql else "0011_second_factors")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM passkey")).scalar() == 1
