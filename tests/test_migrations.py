"""Migrations are the only way the schema is built, so they must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from portal.extensions import db


def test_models_and_migrations_agree(app: Flask) -> None:
    # The session's database was built by `flask db upgrade` alone (see conftest).
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        f"models differ from migrations; run 'portal db migrate': {differences}"
    )


def test_migrations_upgrade_from_nothing_and_downgrade_back(app: Flask, tmp_path) -> None:
    from flask_migrate import downgrade, upgrade

    from portal import create_app

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'scratch.db'}"})
    with scratch.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is not None
        db.engine.dispose()
