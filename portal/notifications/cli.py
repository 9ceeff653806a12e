"""``portal outbox deliver``: the mail worker."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.db import DATABASE_UNAVAILABLE
from portal.extensions import db
from portal.notifications.services import console_transport, deliver_due, smtp_transport

outbox = AppGroup("outbox", help="Queued mail.")

#: Seconds between attempts to reach a database that is away: 1, 2, 4… at most a minute.
MAX_RECONNECT_DELAY = 60


@outbox.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, polling for due mail.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls.")
@click.option("--limit", default=100, show_default=True, help="Messages per round.")
def deliver(loop: bool, interval: float, limit: int) -> None:
    """Send due mail over SMTP (MAIL_SERVER), or print it when no server is configured.

    Safe to run in several processes at once on PostgreSQL: each message is claimed by one.
    With --loop the worker outlives database restarts and outages: it tries again after 1,
    2, 4… at most 60 seconds, and says so on stderr.

    Delivery is at least once, with at most one message sent twice per worker crash: a
    message the mail server accepted is recorded as sent before anything else is sent,
    retrying until the database takes it, so a worker that keeps running never sends one
    twice; only a worker killed between the server's acceptance and that record leaves its
    one message to go again (after a 10-minute lease, see ``deliver_due``).
    """
    transport = (
        smtp_transport() if current_app.config["MAIL_SERVER"] else console_transport(click.echo)
    )
    failures = 0
    while True:
        try:
            report = deliver_due(transport, limit=limit)
        except DATABASE_UNAVAILABLE as error:
            db.session.rollback()
            reason = str(error).splitlines()[0]
            if not loop:
                raise SystemExit(f"portal: the database is not reachable ({reason})") from None
            delay = min(2**failures, MAX_RECONNECT_DELAY)
            failures += 1
            click.echo(f"database unavailable ({reason}); trying again in {delay} s", err=True)
            time.sleep(delay)
            continue
        failures = 0
        if report.sent or report.retried or report.failed or not loop:
            click.echo(f"sent {report.sent}, will retry {report.retried}, failed {report.failed}")
        if not loop:
            return
        time.sleep(interval)
