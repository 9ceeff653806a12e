"""the member's dashboard remembers the last visit that showed news; host organizations

Revision ID: 0013_dashboard_seen
Revises: 0012_membership_plans
Create Date: 2026-11-30 14:10:00

``person.dashboard_seen_at``: claims decided after it are "decided since your last visit" on
the member's dashboard. ``organization.kind`` may be ``host``: an organization of the network
that hosts events without an MOU and without members (Kobe City).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision = "0013_dashboard_seen"
down_revision = "0012_membership_plans"
branch_labels = None
depends_on = None


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to change it, dropping the old one: with foreign keys on, that
    drop deletes what points at it (a person's passkeys, an organization's events). Checks
    are off while it does. The pragma is ignored inside a transaction: it is set between
    transactions, or the connection (which the app may use next) keeps its foreign keys off."""
    migration = context.get_context()
    sqlite = migration.dialect.name == "sqlite"
    if sqlite:
        with migration.autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            with migration.autocommit_block():
                op.execute("PRAGMA foreign_keys=ON")


def _kinds(kinds: str) -> None:
    """Rewrite organization's kind check (people, MOUs and events point at the table)."""
    with _foreign_keys_off():
        with op.batch_alter_table("organization", schema=None) as batch_op:
            batch_op.drop_constraint(op.f("ck_organization_kind"), type_="check")
            batch_op.create_check_constraint("kind", f"kind IN ({kinds})")


def upgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dashboard_seen_at", sa.DateTime(timezone=True), nullable=True))
    _kinds("'hub', 'partner', 'host'")


def downgrade():
    # The older schema knows partners and the hub only: a host organization (Kobe City) stays,
    # with its events, as a partner without an MOU; only the word "host" is lost.
    if not context.is_offline_mode():
        hosts = op.get_bind().execute(
            sa.text("SELECT count(*) FROM organization WHERE kind = 'host'")
        ).scalar()
        if hosts:
            logging.getLogger(__name__).warning(
                "Downgrading %s records %d host organization(s) as partners", revision, hosts
            )
    op.execute("UPDATE organization SET kind = 'partner' WHERE kind = 'host'")
    _kinds("'hub', 'partner'")
    with _foreign_keys_off():
        with op.batch_alter_table("person", schema=None) as batch_op:
            batch_op.drop_column("dashboard_seen_at")
