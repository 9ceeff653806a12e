"""Migration 0009 on a database that holds repeated claims, as databases written before it do.

Each member keeps their allowance of live claims per service and period (fulfilled ones, then
the earliest); the rest are withdrawn with a note and an audit entry, and from then on the
database refuses a second live claim in the same place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Person
from portal.extensions import db

claims = sa.table(
    "benefit_claim",
    sa.column("id", sa.Integer),
    sa.column("person_id", sa.Integer),
    sa.column("service_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("decision_note", sa.Text),
    sa.column("period", sa.String),
    sa.column("slot", sa.Integer),
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _service_id(provider: str, category: str) -> int:
    return db.session.execute(
        sa.text(
            "SELECT s.id FROM reciprocal_service s JOIN organization o ON o.id = s.provider_id "
            "WHERE o.slug = :provider AND s.category = :category"
        ),
        {"provider": provider, "category": category},
    ).scalar_one()


def _claim(person_id: int, service_id: int, status: str, when: datetime, note: str = "") -> int:
    decided = None if status in ("requested", "cancelled") else when
    return db.session.execute(
        claims.insert()
        .values(
            person_id=person_id,
            service_id=service_id,
            status=status,
            created_at=when,
            updated_at=when,
            decided_at=decided,
            decision_note=note or ("No." if status == "rejected" else ""),
        )
        .returning(claims.c.id)
    ).scalar_one()


def make_person(email: str, family_name: str, given_name: str) -> sa.Row:
    """A person written with the columns the old schema has (the model may have more)."""
    person = Person.__table__
    return db.session.execute(
        person.insert()
        .values(
            email=email,
            email_normalized=email,
            family_name=family_name,
            given_name=given_name,
            email_confirmed_at=datetime.now(UTC),
        )
        .returning(person.c.id)
    ).one()


def _rows() -> dict[int, sa.Row]:
    return {
        row.id: row
        for row in db.session.execute(
            sa.text(
                "SELECT id, status, period, slot, decision_note, cancelled_at FROM benefit_claim"
            )
        )
    }


@pytest.fixture
def scratch(app: Flask, tmp_path: Path) -> Flask:
    from portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'before.db'}"})


def test_upgrading_keeps_each_members_allowance_and_withdraws_the_repeats(
    scratch: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.organizations import network
    from portal.organizations.services import seed_network

    # The schema of 0007 knows no host organizations (Kobe City, 0013): seed without them.
    monkeypatch.setattr(
        network, "ORGANIZATIONS", tuple(o for o in network.ORGANIZATIONS if o.kind != "host")
    )
    with scratch.app_context():
        upgrade(revision="0007_outbox_written")
        seed_network()
        taro = make_person("taro@example.org", "山田", "太郎").id
        hanako = make_person("hanako@example.org", "佐藤", "花子").id
        # UCSD's publications (no limit) claimed four times by Taro: granted at once each time.
        digest = _service_id("ucsd", "publications")
        kept = _claim(taro, digest, "approved", at(2025, 3, 1), note="Welcome aboard.")
        repeats = [
            _claim(taro, digest, "approved", at(2025, 3, 1, 0, 1)),
            _claim(taro, digest, "approved", at(2026, 1, 5), note="Enjoy."),
            _claim(taro, digest, "requested", at(2026, 2, 1)),
        ]
        refused = _claim(taro, digest, "rejected", at(2024, 12, 1))
        # BIOCOM's publications, limited to two a year (Los Angeles time).
        limited = _service_id("biocom", "publications")
        db.session.execute(
            sa.text("UPDATE reciprocal_service SET limit_per_member = 2 WHERE id = :id"),
            {"id": limited},
        )
        first_two = [
            _claim(hanako, limited, "approved", at(2025, 2, 1)),
            _claim(hanako, limited, "approved", at(2025, 6, 1)),
        ]
        third = _claim(hanako, limited, "approved", at(2025, 9, 1))
        # 2026-01-01 03:00 UTC is still New Year's Eve 2025 in San Diego.
        new_years_eve = _claim(hanako, limited, "approved", at(2026, 1, 1, 3))
        next_year = _claim(hanako, limited, "approved", at(2026, 1, 2))
        # Fulfilled claims record a benefit delivered: never withdrawn, even two on a one-off.
        visits = _service_id("krp", "mutual_visits")
        early_grant = _claim(hanako, visits, "approved", at(2025, 1, 1))
        delivered = [
            _claim(hanako, visits, "fulfilled", at(2025, 2, 1)),
            _claim(hanako, visits, "fulfilled", at(2025, 3, 1)),
        ]
        db.session.commit()

        upgrade()

        rows = _rows()
        assert (rows[kept].status, rows[kept].period, rows[kept].slot) == ("approved", "ever", 1)
        assert [rows[i].status for i in repeats] == ["cancelled"] * 3
        assert all(rows[i].cancelled_at is not None for i in repeats)
        assert rows[repeats[0]].decision_note.startswith(
            "Withdrawn: it repeated your claim of 2025-03-01 on this service in the same period."
        )
        assert "重複分として取り下げました" in rows[repeats[0]].decision_note
        # A provider's note is kept above the withdrawal's.
        assert rows[repeats[1]].decision_note.startswith("Enjoy.\nWithdrawn:")
        assert (rows[refused].status, rows[refused].period) == ("rejected", "ever")

        assert [(rows[i].status, rows[i].period, rows[i].slot) for i in first_two] == [
            ("approved", "2025", 1),
            ("approved", "2025", 2),
        ]
        assert rows[third].status == "cancelled"
        assert rows[new_years_eve].status == "cancelled"  # a third claim of 2025, locally
        assert (rows[next_year].status, rows[next_year].period) == ("approved", "2026")

        assert [rows[i].status for i in delivered] == ["fulfilled", "fulfilled"]
        assert {rows[i].slot for i in delivered} == {1, 2}
        assert rows[early_grant].status == "cancelled"

        withdrawn = db.session.execute(
            sa.text(
                "SELECT subject_id, actor_id, organization_id FROM audit_entry "
                "WHERE action = 'benefit_claim.withdraw' ORDER BY subject_id"
            )
        ).all()
        assert [row.subject_id for row in withdrawn] == sorted(
            [*repeats, third, new_years_eve, early_grant]
        )
        assert all(row.actor_id is None for row in withdrawn)

        # From now on the database keeps one live claim per place.
        with pytest.raises(IntegrityError):
            db.session.execute(
                claims.insert().values(
                    person_id=taro,
                    service_id=digest,
                    status="approved",
                    created_at=at(2026, 3, 1),
                    updated_at=at(2026, 3, 1),
                    decided_at=at(2026, 3, 1),
                    decision_note="",
                    period="ever",
                    slot=1,
                )
            )
        db.session.rollback()
        db.engine.dispose()
