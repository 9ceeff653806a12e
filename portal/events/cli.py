"""``portal events …``: the scheduled jobs of event registrations.

Both are safe to run every few minutes, and in several processes at once: a reminder is
claimed by one conditional update before it is queued, so nobody gets one twice; a lapsed
hold is released once and its seat goes to the first person waiting.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.events import holds, mail

events_group = AppGroup("events", help="Event registrations: reminders and payment holds.")


@events_group.command("send-reminders")
def send_reminders_command() -> None:
    """Queue reminder mail for events starting within their reminder window (once each)."""
    sent = mail.send_reminders()
    click.echo(f"queued {sent} reminder{'' if sent == 1 else 's'}")


@events_group.command("release-holds")
def release_holds_command() -> None:
    """Release seats held for payment past their deadline; promote from the waitlist."""
    released = holds.release_expired_holds()
    click.echo(f"released {released} lapsed hold{'' if released == 1 else 's'}")
