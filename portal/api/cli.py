"""``portal api jobs``: the worker that does the API's background jobs (large roster syncs)."""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from flask.cli import AppGroup

from portal.api.jobs import run_jobs
from portal.api.webhooks import deliver_due
from portal.db import DATABASE_UNAVAILABLE
from portal.extensions import db

api_group = AppGroup("api", help="The partners' API.")

MAX_RECONNECT_DELAY = 60


@api_group.command("webhooks")
@click.option("--loop", is_flag=True, help="Keep running, polling for due deliveries.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
def webhooks_command(loop: bool, interval: float) -> None:
    """Send due webhook deliveries, retrying failures with backoff for about three days.

    Several workers may run: each delivery is leased by one (a conditional UPDATE) while it
    is sent, so none is sent twice by two workers.
    """
    _keep_going(lambda: _say(deliver_due()), loop=loop, interval=interval)


def _say(report: object) -> None:
    if any(vars(report).values()):
        click.echo(", ".join(f"{name} {count}" for name, count in vars(report).items()))


@api_group.command("jobs")
@click.option("--loop", is_flag=True, help="Keep running, polling for queued jobs.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
def jobs(loop: bool, interval: float) -> None:
    """Do queued API jobs (roster syncs too large to answer at once), oldest first.

    Several workers may run: each job is taken by one (a conditional UPDATE). With --loop the
    worker outlives database outages, trying again after 1, 2, 4… at most 60 seconds.
    """
    _keep_going(lambda: run_jobs(echo=click.echo), loop=loop, interval=interval)


def _keep_going(work: Callable[[], object], *, loop: bool, interval: float) -> None:
    failures = 0
    while True:
        try:
            work()
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
        if not loop:
            return
        time.sleep(interval)
