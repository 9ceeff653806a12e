"""The mail worker as production runs it (``portal outbox deliver --loop``, a process of its
own) on PostgreSQL, sending to a real SMTP server while its database connections are killed
under it (``pg_terminate_backend``, as a database restart does) and while its database
refuses connections for a while. It keeps going; every message arrives, and none twice.

Only the test's own database is touched: the worker's connections are found by an
application name of their own, and connections are refused to the test database alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus
from tests.factories import count, outbox
from tests.notifications.test_delivery import free_port, queue_invitation

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgres_only")]


def libpq_url(database_url: str, database: str | None = None) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


class Inbox:
    """What a real SMTP server received; runs ``on_message[n]`` before accepting the n-th."""

    def __init__(self) -> None:
        self.recipients: list[str] = []
        self.on_message: dict[int, Callable[[], None]] = {}

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        action = self.on_message.get(len(self.recipients) + 1)
        if action is not None:
            action()
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class Worker:
    """``portal outbox deliver --loop`` in a process of its own, and what it printed."""

    def __init__(self, database_url: str, smtp_port: int, instance: Path) -> None:
        self.application_name = f"portal-mail-test-{uuid.uuid4().hex[:12]}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "PORTAL_INSTANCE_PATH": str(instance),
            # libpq names the worker's connections, so the test kills only those.
            "PGAPPNAME": self.application_name,
        }
        for name in ("REDIS_URL", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD"):
            env.pop(name, None)
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal", "outbox", "deliver", "--loop", "--interval", "0.2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def eventually(condition: Callable[[], bool], what: str, worker: Worker) -> None:
    """Wait for ``condition`` while the worker runs; fail at once if it stops."""
    deadline = time.monotonic() + 60
    while not condition():
        output = "\n".join(worker.output)
        assert worker.running, f"the worker stopped before {what}:\n{output}"
        assert time.monotonic() < deadline, f"never happened: {what}\n{output}"
        time.sleep(0.1)


@pytest.fixture
def watcher(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        yield connection


def kill_connections_of(watcher: psycopg.Connection[Any], worker: Worker) -> int:
    """``pg_terminate_backend`` on the worker's connections to the test database."""
    killed = watcher.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = %s",
        (worker.application_name,),
    ).fetchall()
    return len(killed)


class Connections:
    """Connections to the test database, through the maintenance database: refused for a
    while (``ALLOW_CONNECTIONS false``, the database only), and always allowed again."""

    def __init__(self, database_url: str) -> None:
        self.database = make_url(database_url).database
        self.maintenance_url = libpq_url(database_url, database="postgres")
        self.refused = False

    def _allow(self, allowed: bool) -> None:
        with psycopg.connect(self.maintenance_url, autocommit=True) as maintenance:
            maintenance.execute(
                f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'
            )
        self.refused = not allowed

    def refuse(self) -> None:
        self._allow(False)

    def allow(self) -> None:
        self._allow(True)


@pytest.fixture
def connections(database_url: str) -> Iterator[Connections]:
    connections = Connections(database_url)
    try:
        yield connections
    finally:
        if connections.refused:
            connections.allow()


def all_sent(count: int) -> bool:
    db.session.expire_all()
    messages = outbox()
    db.session.rollback()
    return len(messages) == count and all(m.status == OutboxStatus.SENT for m in messages)


def queue(numbers: range) -> None:
    for n in numbers:
        queue_invitation(to=f"colleague{n}@mitsui-life.example")
    db.session.commit()


def printed(worker: Worker, text: str, since: int = 0) -> Callable[[], bool]:
    return lambda: any(text in line for line in worker.output[since:])


def test_the_worker_outlives_killed_connections_and_sends_everything_once(
    database_url: str, watcher: psycopg.Connection[Any], connections: Connections, tmp_path: Path
) -> None:
    queue(range(6))
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    worker = Worker(database_url, port, tmp_path)
    try:
        # Its connection killed while the server takes the second message.
        killed: list[int] = []
        inbox.on_message[2] = lambda: killed.append(kill_connections_of(watcher, worker))
        eventually(lambda: len(inbox.recipients) == 6 and all_sent(6), "six messages sent", worker)
        assert killed == [1]

        # A database restart while the server takes the seventh: killed, and refused until
        # the worker has said it could not record that message.
        def restart() -> None:
            connections.refuse()
            kill_connections_of(watcher, worker)

        # Only what it prints from here: the first kill may have made it say the same of the
        # second message (the connection can still look open for a moment after the kill).
        since = len(worker.output)
        inbox.on_message[7] = restart
        queue(range(6, 8))
        eventually(
            printed(worker, "could not be recorded", since), "a sent message not recorded", worker
        )
        assert len(inbox.recipients) == 7, "nothing else is sent before it is recorded"
        connections.allow()
        eventually(
            lambda: len(inbox.recipients) == 8 and all_sent(8), "eight messages sent", worker
        )

        # The database away between rounds.
        since = len(worker.output)
        connections.refuse()
        kill_connections_of(watcher, worker)
        eventually(printed(worker, "database unavailable", since), "it finds it away", worker)
        connections.allow()
        queue(range(8, 9))
        eventually(lambda: len(inbox.recipients) == 9 and all_sent(9), "nine messages sent", worker)
        assert worker.running
    finally:
        worker.stop()
        smtp.stop()

    assert sorted(inbox.recipients) == sorted(
        f"colleague{n}@mitsui-life.example" for n in range(9)
    )  # every one, none twice
    assert count(OutboxMessage) == 9
    assert "Traceback" not in "\n".join(worker.output)
