"""The ``portal`` command line: seed, demo, check, and Flask-Migrate's ``db`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.serving import run_simple

from portal.config import ConfigurationError


def _create_app() -> Flask:
    from portal import create_app

    try:
        return create_app()
    except ConfigurationError as error:
        # One line, no traceback: the operator needs the reason, not our stack.
        raise SystemExit(f"portal: {error}") from None


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """LINK-J partner portal."""


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the LINK-J network from the seed document (safe to run again)."""
    from portal.organizations.services import seed_network

    report = seed_network()
    click.echo(
        f"Seeded {report.organizations} organizations, {report.agreements} MOUs, "
        f"{report.services} reciprocal services"
        + (f"; wrote the instructions of {report.instructions}" if report.instructions else "")
        + ("" if report.created_anything else " (already up to date)")
        + "."
    )


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and stop.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Migrate, seed, add demo data and serve the portal."""
    from portal.demo import load_demo_data
    from portal.organizations.services import seed_network

    upgrade()
    seed_network()
    for line in load_demo_data(base_url=f"http://{host}:{port}"):
        click.echo(line)
    if no_serve:
        return
    _deliver_mail_in_background(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"The portal is running on http://{host}:{port}/  (Ctrl+C to stop)")
    # app.run() refuses to start inside the flask CLI; serve with Werkzeug directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]


def _deliver_mail_in_background(app: Flask) -> None:
    """The demo's mail worker: a thread printing queued mail, as `portal outbox deliver` would."""
    import threading
    import time

    from portal.notifications.services import console_transport, deliver_due, smtp_transport

    def work() -> None:
        while True:
            with app.app_context():
                transport = (
                    smtp_transport() if app.config["MAIL_SERVER"] else console_transport(click.echo)
                )
                deliver_due(transport)
            time.sleep(2)

    threading.Thread(target=work, name="demo-mail", daemon=True).start()


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check the configuration and that the database is reachable and migrated."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate

    from portal.extensions import db
    from portal.health import database_reachable

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo(f"environment: {current_app.config['PORTAL_ENV']}")
    click.echo(f"database:    {url.render_as_string(hide_password=True)}")
    if not database_reachable():
        raise SystemExit("portal: the database is not reachable")
    migrate: Migrate = current_app.extensions["migrate"].migrate
    script = ScriptDirectory.from_config(migrate.get_config())
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = script.get_current_head()
    if current != head:
        raise SystemExit(
            f"portal: the database is at revision {current or 'none'}, the code at {head}; "
            "run 'portal db upgrade'"
        )
    click.echo(f"schema:      at head ({head})")
    click.echo(f"mail:        {current_app.config['MAIL_SERVER'] or 'console (no MAIL_SERVER)'}")
    click.echo(f"stripe:      {'configured' if current_app.config['STRIPE_SECRET_KEY'] else 'off'}")
    click.echo("ok")


@click.group("cache")
def cache_group() -> None:
    """The page cache."""


@cache_group.command("clear")
@with_appcontext
def cache_clear_command() -> None:
    """Forget every cached page (run after a deploy: templates may have changed)."""
    from portal.pagecache import clear
    from portal.versions import current_store

    store = current_store()
    if store is None:
        click.echo("the page cache is off (PAGE_CACHE_URL)")
        return
    if not clear(store):
        raise SystemExit(
            "portal: the page cache was not cleared: Redis is not answering (pages cached "
            "before live at most PAGE_CACHE_TTL seconds)"
        )
    click.echo("page cache cleared")


@click.group("assets")
def assets_group() -> None:
    """Static files under content-hashed names."""


@assets_group.command("build")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def assets_build_command(target: Path) -> None:
    """Write the static files, hashed and gzipped, into TARGET for nginx (docs/deploy.md)."""
    from portal.assets import Assets

    written = Assets(Path(current_app.static_folder or "")).build(target)
    click.echo(f"wrote {written} files to {target}")


def register(app: Flask) -> None:
    from portal.accounts.cli import memberships_group, users
    from portal.api.cli import api_group
    from portal.benefits.cli import benefits
    from portal.dues.cli import dues_group
    from portal.events.cli import events_group
    from portal.notifications.cli import outbox
    from portal.payments.cli import payments_group

    for command in (
        seed_command,
        demo_command,
        check_command,
        users,
        memberships_group,
        benefits,
        dues_group,
        outbox,
        events_group,
        payments_group,
        cache_group,
        assets_group,
        api_group,
    ):
        app.cli.add_command(command)
