"""``portal dues …``: renewal, reminders and lapse (rule 20), run by the scheduler."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.dues import renewal

dues_group = AppGroup("dues", help="LINK-J membership dues.")


@dues_group.command("renew")
@click.option("--fiscal-year", type=int, required=True, help="The year the fiscal year starts.")
def renew(fiscal_year: int) -> None:
    """Issue the fiscal year's dues to every member (in March; safe to run again)."""
    click.echo(f"{renewal.renew(fiscal_year)} dues charges issued for fiscal year {fiscal_year}.")


@dues_group.command("remind")
def remind() -> None:
    """Mail reminders before and after the due date (once each; run daily)."""
    reminded = renewal.remind()
    click.echo(f"{reminded.before} reminders before and {reminded.after} after the due date.")


@dues_group.command("lapse")
def lapse() -> None:
    """End the memberships whose dues are unpaid at the end of the grace period (run daily)."""
    click.echo(f"{renewal.lapse()} memberships lapsed.")
