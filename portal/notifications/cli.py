"""``portal outbox deliver``: the mail worker."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.notifications.services import console_transport, deliver_due, smtp_transport

outbox = AppGroup("outbox", help="Queued mail.")


@outbox.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, polling for due mail.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls.")
@click.option("--limit", default=100, show_default=True, help="Messages per round.")
def deliver(loop: bool, interval: float, limit: int) -> None:
    """Send due mail over SMTP (MAIL_SERVER), or print it when no server is configured.

    Safe to run in several processes at once on PostgreSQL: each message is claimed by one.
    """
    transport = (
        smtp_transport() if current_app.config["MAIL_SERVER"] else console_transport(click.echo)
    )
    while True:
        report = deliver_due(transport, limit=limit)
        if report.sent or report.retried or report.failed or not loop:
            click.echo(f"sent {report.sent}, will retry {report.retried}, failed {report.failed}")
        if not loop:
            return
        time.sleep(interval)
