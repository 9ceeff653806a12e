"""``portal api jobs``: the worker that does the API's background jobs (large roster syncs)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from portal.api.jobs import run_jobs
from portal.db import DATABASE_UNAVAILABLE
from portal.extensions import db

api_group = AppGroup("api", help="The partners' API.")

MAX_RECONNECT_DELAY = 60


@api_group.command("jobs")
@click.option("--loop", is_flag=True, help="Keep running, polling for queued jobs.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
def jobs(loop: bool, interval: float) -> None:
    """Do queued API jobs (roster syncs too large to answer at once), oldest first.

    Several workers may run: each job is taken by one (a conditional UPDATE). With --loop the
    worker outlives database outages, trying again after 1, 2, 4… at most 60 seconds.
    """
    failures = 0
    while True:
        try:
            run_jobs(echo=click.echo)
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
