"""``portal payments …``: the scheduled jobs of the payments area."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.payments import invoices, webhooks
from portal.payments.states import PaymentServiceUnavailable

payments_group = AppGroup("payments", help="Payments upkeep.")


@payments_group.command("reconcile")
@click.option("--older-than-minutes", default=10, show_default=True)
def reconcile(older_than_minutes: int) -> None:
    """Settle card payments whose webhook never arrived, asking Stripe (every few minutes)."""
    from datetime import timedelta

    try:
        settled = webhooks.reconcile(older_than=timedelta(minutes=older_than_minutes))
    except PaymentServiceUnavailable as error:
        # A failed run must show in the scheduler: exit status 1 and a one-line reason.
        raise click.ClickException(error.message) from None
    click.echo(f"{settled} payments settled.")


@payments_group.command("remind-overdue")
def remind_overdue() -> None:
    """Mail the payers of overdue invoices (at most once a week each; run daily)."""
    click.echo(f"{invoices.remind_overdue()} reminders queued.")
