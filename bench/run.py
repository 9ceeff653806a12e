"""Serve the portal as production does, load it beside a minimal Flask page, print the table.

    python -m bench.run --database-url postgresql://postgres@127.0.0.1:5432/bench \\
        [--duration 10] [--connections 16]

The database must have been filled by ``python -m bench.fill``. In one run this starts two
gunicorn servers with the same settings (2 sync workers each, ``PORTAL_ENV=production``,
PostgreSQL, Redis): the portal, and the floor (``bench.floor_app``: 20 rows of a 5,000-row
table through a template). ``wrk`` loads each page from a second process; the floor is
measured before, between and after the pages, and each page's rate is printed as a share
of the mean of the two floor runs around it.
Then it times the CSV export of the 2,000-person event, fires 500 simultaneous registrations
at a 100-seat event and counts in the database what was confirmed, and reads each worker's
memory from /proc. It stops every process it started, also on errors and Ctrl+C.

Logged-in pages use session cookies signed with the servers' secret key, as Flask-Login
writes them after a login (``_user_id`` = "<id>:<secret of a session record>" opened by
``accounts.sessions.sign_in`` as the sign-in page does (rule 15), ``_id`` for the client's
address and browser), with a CSRF token in the session, so every response is what a browser
holding that cookie gets. The figures are for comparing, not asserting:
the machine is shared and its speed drifts, which is why the floor is measured in the
same run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import floor_app
from bench.fill import Handles, libpq_url, load_handles

ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "linkj-bench/1"
#: Targets from issue 7 (printed, never asserted).
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
TARGET_EXPORT_S = 1.0
TARGET_BURST_RPS = 200.0
TARGET_WORKER_MB = 150.0


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """Gunicorn's workers: the children of the master process."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _proc_stat(entry)
                if stat is not None and int(stat[1][1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_server(
    name: str, app: str, env: dict[str, str], log_dir: Path, workers: int, threads: int = 1
) -> Server:
    port = free_port()
    log = log_dir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        *(
            ["--worker-class", "gthread", "--threads", str(threads)]
            if threads > 1
            else ["--worker-class", "sync"]
        ),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        app,
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )
    return Server(name, process, port, log)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _headers, _body = http_get(server.base_url + "/healthz", {}, timeout=5)
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /healthz in {timeout:.0f} s")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=5)


def _proc_stat(entry: Path) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat, or None if it ended."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces or parentheses: the fields follow the last ")".
    name, rest = stat.rsplit(")", 1)
    return name.split("(", 1)[1], rest.split()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        stat = _proc_stat(Path(f"/proc/{pid}"))
        if stat is not None:
            ticks += int(stat[1][11]) + int(stat[1][12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[str, int, float, int]]:
    """Every process's (command name, parent pid, CPU seconds used so far, start time in
    ticks): compared before and after a stretch of load, what each took of the machine
    (PostgreSQL's backends, Redis and the load's own client included, which a worker's figures
    leave out). The start time tells a process from a later one with the same pid; the name
    cannot, as the kernel's workers rename themselves by what they are doing."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(entry)
            if stat is not None:
                name, fields = stat
                used[int(entry.name)] = (
                    name,
                    int(fields[1]),
                    (int(fields[11]) + int(fields[12])) / tick,
                    int(fields[19]),
                )
    return used


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy so far (/proc/stat: everything but idle and iowait)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def database_pids() -> list[int]:
    """PostgreSQL's processes on this machine (the server and its backends)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(entry)
            if stat is not None and stat[0] in ("postgres", "postmaster"):
                pids.append(int(entry.name))
    return pids


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB; PSS shares the pages it has in common with others."""
    rss = pss = 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    return rss, pss


# --- HTTP -------------------------------------------------------------------------------------


def http_get(url: str, headers: dict[str, str], timeout: float = 30) -> tuple[int, Any, bytes]:
    """One GET that does not follow redirects: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@dataclass
class Session:
    """A logged-in browser: its Cookie header and the CSRF token its forms carry."""

    cookie: str
    csrf_token: str
    headers: dict[str, str]


class SessionMaker:
    """Signs Flask session cookies with the servers' secret, as a login would leave them."""

    def __init__(self, secret_key: str, database_url: str, instance_path: Path) -> None:
        os.environ.setdefault("PORTAL_INSTANCE_PATH", str(instance_path))
        from itsdangerous import URLSafeTimedSerializer

        from portal import create_app

        self.app = create_app({"SECRET_KEY": secret_key, "SQLALCHEMY_DATABASE_URI": database_url})
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        assert serializer is not None
        self.serializer = serializer
        self.csrf_serializer = URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")
        self.cookie_name = self.app.config["SESSION_COOKIE_NAME"]

    def session(self, person_id: int, forwarded_for: str | None = None) -> Session:
        import pyotp
        from flask_login.utils import _create_identifier

        from portal.accounts.factors.apps import add_app, new_secret
        from portal.accounts.factors.enrolled import has_factor
        from portal.accounts.factors.state import FACTOR_KEY
        from portal.accounts.models import Person
        from portal.accounts.sessions import sign_in
        from portal.extensions import db

        headers = {"User-Agent": USER_AGENT}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        with self.app.test_request_context(
            "/", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}
        ):
            identifier = _create_identifier()
            # A session record of its own, as signing in through the page opens (rule 15).
            person = db.session.get(Person, person_id)
            assert person is not None, person_id
            opened = sign_in(person, remember=False, user_agent=USER_AGENT)
            user_id = opened.person.get_id()
            proof = None
            if person.role_grants:
                # Staff and admins open the management pages only with a second factor
                # (rule 17): an authenticator app, used at this sign-in.
                if not has_factor(person.id):
                    app_secret = new_secret()
                    add_app(person, secret=app_secret, code=pyotp.TOTP(app_secret).now())
                proof = {"person": person.id, "session": opened.record.id, "at": time.time()}
            db.session.remove()
        raw_csrf = secrets.token_hex(20)
        data = {
            "_user_id": user_id,
            "_fresh": True,
            "_id": identifier,
            "csrf_token": raw_csrf,
            **({FACTOR_KEY: proof} if proof else {}),
        }
        cookie = f"{self.cookie_name}={self.serializer.dumps(data)}"
        return Session(
            cookie=cookie,
            csrf_token=str(self.csrf_serializer.dumps(raw_csrf)),
            headers={**headers, "Cookie": cookie},
        )


def run_servers(
    servers: list[Server], measure: Callable[[], None], failures: tuple[type[Exception], ...]
) -> int:
    """Run ``measure``, which starts its servers into ``servers``, and stop them all whatever
    happens: 0 when it ran, 1 with each server's log on one of ``failures``, 130 on Ctrl+C."""
    try:
        measure()
    except failures as error:
        for server in servers:
            print(f"--- {server.name} log ---\n{server.log_tail()}", file=sys.stderr)
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            stop_server(server)
    return 0


# --- wrk --------------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency(output: str, percent: str) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    if not match:
        raise RuntimeError(f"no {percent}% line in wrk's output:\n{output}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> Load:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    if not rps or not total:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        rps=float(rps.group(1)),
        p50_ms=_latency(output, "50"),
        p99_ms=_latency(output, "99"),
        requests=int(total.group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_wrk(
    url: str, headers: dict[str, str], *, duration: float, connections: int, threads: int
) -> Load:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    )
    return parse_wrk(result.stdout)


# --- what is measured -------------------------------------------------------------------------


@dataclass
class Page:
    key: str
    label: str
    path: str
    session: Session | None
    #: Text the page must contain: proves the cookie worked and the right page answered.
    expect: str
    server: str = "portal"


@dataclass
class PageResult:
    key: str
    label: str
    load: Load
    #: The floor's rate measured just before and just after this page (their mean).
    floor_rps: float = 0.0
    bytes: int = 0

    @property
    def ratio(self) -> float:
        return self.load.rps / self.floor_rps if self.floor_rps else 0.0


@dataclass
class ExportResult:
    seconds: list[float]
    rows: int
    bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class BurstResult:
    attempts: int
    seats: int
    seconds: float
    outcomes: dict[str, int]
    statuses: dict[str, int]
    duplicates: int
    p50_ms: float
    max_ms: float
    #: CPU milliseconds per attempt, by whom: the portal's workers, PostgreSQL, this client.
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def registered(self) -> int:
        return self.outcomes.get("registered", 0)

    @property
    def rate(self) -> float:
        return self.registered / self.seconds if self.seconds else 0.0

    @property
    def confirmed(self) -> int:
        return self.statuses.get("confirmed", 0)


@dataclass
class Report:
    settings: dict[str, Any]
    floor: list[Load] = field(default_factory=list)
    pages: list[PageResult] = field(default_factory=list)
    export: ExportResult | None = None
    burst: BurstResult | None = None
    memory: dict[str, list[tuple[int, float, float]]] = field(default_factory=dict)


def check_page(base_url: str, page: Page) -> int:
    """Fetch the page once as the load will: it must answer 200 with the expected text."""
    headers = page.session.headers if page.session else {"User-Agent": USER_AGENT}
    status, response_headers, body = http_get(base_url + page.path, headers)
    text = body.decode("utf-8", errors="replace")
    if status != 200 or page.expect not in text:
        raise RuntimeError(
            f"{page.label}: GET {page.path} answered {status} "
            f"{response_headers.get('Location', '')} without “{page.expect}”: "
            "is the database filled by bench.fill, and the cookie right?"
        )
    if "Set-Cookie" in response_headers:
        # A page that rewrites the session on every request would cost more in a browser too.
        print(f"  note: {page.key} sets a cookie: {response_headers['Set-Cookie'][:60]}…")
    return len(body)


def measure_export(base_url: str, path: str, session: Session, times: int) -> ExportResult:
    http_get(base_url + path, session.headers, timeout=120)  # warm
    seconds = []
    body = b""
    for _ in range(times):
        began = time.perf_counter()
        status, _headers, body = http_get(base_url + path, session.headers, timeout=120)
        seconds.append(time.perf_counter() - began)
        if status != 200:
            raise RuntimeError(f"CSV export answered {status}")
    rows = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")))) - 1
    return ExportResult(seconds=seconds, rows=rows, bytes=len(body))


def reset_burst_event(database_url: str, handles: Handles) -> None:
    """Empty the burst event, so every run starts from 100 free seats."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(
            "DELETE FROM outbox_message WHERE person_id = ANY(%s)", (handles.burst_people,)
        )
        conn.execute(
            "DELETE FROM payment WHERE registration_id IN "
            "(SELECT id FROM registration WHERE event_id = %s)",
            (handles.burst_event_id,),
        )
        conn.execute("DELETE FROM registration WHERE event_id = %s", (handles.burst_event_id,))
    # Each run leaves 500 dead rows that autovacuum, at this table size, would not clear for
    # many runs: counting seats over them would make every run slower than the last.
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) registration, outbox_message, payment")


def registration_burst(
    base_url: str,
    database_url: str,
    handles: Handles,
    sessions: SessionMaker,
    *,
    attempts: int,
    distinct_addresses: bool,
    worker_pids: list[int],
    warmup: int = 20,
) -> BurstResult:
    """``attempts`` people press Register at the same moment; count what the database kept."""
    reset_burst_event(database_url, handles)
    parts = urllib.parse.urlsplit(base_url)
    path = f"/events/{handles.burst_event_slug}/register"
    people = handles.burst_people[:attempts]
    requests = []
    for number, person_id in enumerate(people):
        # Behind the reverse proxy each person has an address of their own.
        address = f"10.77.{number // 250}.{number % 250 + 1}" if distinct_addresses else None
        session = sessions.session(person_id, address)
        body = urllib.parse.urlencode(
            {"csrf_token": session.csrf_token, "ticket_type": handles.burst_ticket_type_id}
        )
        headers = {
            **session.headers,
            "Content-Type": "application/x-www-form-urlencoded",
            # What a browser sends from the event page (checked by Flask-WTF over HTTPS).
            "Referer": f"{base_url}/events/{handles.burst_event_slug}",
        }
        requests.append((headers, body))

    # A server that has been up a while has compiled its templates and statements and holds
    # the event's definition: register a few people once, then start from empty seats again.
    for headers, body in requests[:warmup]:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.request("POST", path, body=body, headers=headers)
            connection.getresponse().read()
        finally:
            connection.close()
    reset_burst_event(database_url, handles)

    barrier = threading.Barrier(len(requests) + 1)
    outcomes: list[str] = [""] * len(requests)
    started = [0.0] * len(requests)
    ended = [0.0] * len(requests)

    def attempt(number: int) -> None:
        headers, body = requests[number]
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        try:
            connection.connect()
            barrier.wait()
            started[number] = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ended[number] = time.perf_counter()
            location = response.headers.get("Location", "")
            if response.status in (301, 302, 303) and "/events/tickets/" in location:
                outcomes[number] = "registered"
            elif response.status in (301, 302, 303):
                outcomes[number] = "refused (flash message)"
            else:
                outcomes[number] = f"HTTP {response.status}"
        except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
            ended[number] = time.perf_counter()
            outcomes[number] = f"error: {type(error).__name__}"
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    database = database_pids()
    cpu_before = (cpu_seconds(worker_pids), cpu_seconds(database), time.process_time())
    barrier.wait()
    for thread in threads:
        thread.join()
    cpu_after = (cpu_seconds(worker_pids), cpu_seconds(database), time.process_time())
    seconds = max(ended) - min(s for s in started if s)
    latencies = sorted((e - s) * 1000 for s, e in zip(started, ended, strict=True) if s)
    with psycopg.connect(libpq_url(database_url)) as conn:
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM registration WHERE event_id = %s GROUP BY status",
                (handles.burst_event_id,),
            ).fetchall()
        )
        duplicates = conn.execute(
            "SELECT count(*) - count(DISTINCT person_id) FROM registration WHERE event_id = %s",
            (handles.burst_event_id,),
        ).fetchone()
    return BurstResult(
        attempts=len(requests),
        seats=handles.burst_seats,
        seconds=seconds,
        outcomes=dict(Counter(outcomes)),
        statuses=statuses,
        duplicates=int(duplicates[0]) if duplicates else -1,
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        max_ms=latencies[-1] if latencies else 0.0,
        cpu_ms={
            who: (after - before) * 1000 / len(requests)
            for who, before, after in zip(
                ("portal workers", "PostgreSQL", "this client"), cpu_before, cpu_after, strict=True
            )
        },
    )


# --- the table --------------------------------------------------------------------------------


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_report(report: Report) -> None:
    s = report.settings
    floors = [f.rps for f in report.floor]
    print()
    print(
        f"LINK-J portal benchmark — {s['workers']} gunicorn {s['worker_kind']} workers per server, "
        f"page cache {s['page_cache']}, "
        f"wrk -t{s['threads']} -c{s['connections']} -d{s['duration']:g}s, "
        f"{s['cpus']} CPUs, {s['started']}"
    )
    if floors:
        worst = max(f.p99_ms for f in report.floor)
        print(
            f"Floor (minimal Flask page), measured {len(floors)} times between the pages: "
            f"{min(floors):.0f}–{max(floors):.0f} req/s, median {statistics.median(floors):.0f}; "
            f"p99 at most {worst:.1f} ms. Each page is divided by the mean of the floor runs "
            "just before and after it."
        )
    header = (
        f"{'page':<50} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'floor':>7} {'÷ floor':>8}"
        f"  {'≥0.5':>4}  {'p99<100':>7}  {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for page in report.pages:
        load = page.load
        print(
            f"{page.label:<50} {load.rps:>7.1f} {load.p50_ms:>7.1f} {load.p99_ms:>7.1f} "
            f"{page.floor_rps:>7.0f} {page.ratio:>8.3f}  {_yes(page.ratio >= TARGET_RATIO):>4}  "
            f"{_yes(load.p99_ms < TARGET_P99_MS):>7}  {load.non_2xx_3xx + load.socket_errors:>6}"
        )
    if report.export:
        export = report.export
        print(
            f"\nCSV export, {export.rows:,} registrations ({export.bytes / 1024:.0f} KB): "
            f"median {export.median:.3f} s, max {max(export.seconds):.3f} s over "
            f"{len(export.seconds)} GETs — under {TARGET_EXPORT_S:g} s: "
            f"{_yes(export.median < TARGET_EXPORT_S)}"
        )
    if report.burst:
        burst = report.burst
        exact = burst.confirmed == burst.seats and burst.duplicates == 0
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(burst.outcomes.items()))
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(burst.statuses.items()))
        print(
            f"\nRegistration burst: {burst.attempts} simultaneous attempts for {burst.seats} "
            f"seats in {burst.seconds:.2f} s = {burst.rate:.0f} registrations/s "
            f"(latency p50 {burst.p50_ms:.0f} ms, max {burst.max_ms:.0f} ms)"
        )
        print(f"  answers: {outcomes}")
        print(f"  in the database: {statuses}; duplicate people: {burst.duplicates}")
        if burst.cpu_ms:
            spent = ", ".join(f"{who} {ms:.1f}" for who, ms in burst.cpu_ms.items())
            print(f"  CPU per attempt (ms): {spent}")
        print(
            f"  exactly {burst.seats} confirmed: {_yes(exact)}; "
            f"≥ {TARGET_BURST_RPS:.0f} registrations/s: {_yes(burst.rate >= TARGET_BURST_RPS)}"
        )
    if report.memory:
        print("\nMemory per worker after the run (RSS / PSS, MB):")
        for name, workers in report.memory.items():
            figures = ", ".join(f"pid {pid}: {rss:.0f} / {pss:.0f}" for pid, rss, pss in workers)
            ok = all(rss < TARGET_WORKER_MB for _pid, rss, _pss in workers)
            print(f"  {name:<7} {figures} — under {TARGET_WORKER_MB:.0f} MB: {_yes(ok)}")


# --- the command ------------------------------------------------------------------------------


def server_env(
    database_url: str, redis_url: str, secret_key: str, instance: Path, trust_proxy: bool
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "MAIL_", "STRIPE_")) and key not in ("DATABASE_URL",)
    }
    env.update(
        PORTAL_ENV="production",
        SECRET_KEY=secret_key,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PORTAL_TRUST_PROXY="1" if trust_proxy else "0",
        PORTAL_INSTANCE_PATH=str(instance),
        INVOICE_REGISTRATION_NUMBER="T0000000000000",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    return env


def check_tools(redis_url: str) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        raise SystemExit("gunicorn is not installed here (pip install gunicorn)") from None
    parts = urllib.parse.urlsplit(redis_url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2).close()
    except OSError as error:
        raise SystemExit(f"Redis at {redis_url} is unreachable: {error}") from None


@contextlib.contextmanager
def stopped_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT (even where a shell ignores it) end the run through the
    ``finally`` that stops the servers."""

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, terminate) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


PAGE_KEYS = ("events", "event", "dashboard", "queue", "registrations")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--database-url", required=True, help="a database filled by bench.fill")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per page")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=1,
        help="threads per worker for both servers (1: sync workers; more: gthread)",
    )
    parser.add_argument(
        "--page-cache",
        choices=("on", "off"),
        default="on",
        help="off: every page is rendered afresh (what a page costs right after a change)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--pages", default=",".join(PAGE_KEYS), help="which read pages")
    parser.add_argument("--export-times", type=int, default=5)
    parser.add_argument("--burst", type=int, default=500, help="simultaneous registrations")
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument(
        "--no-proxy-addresses",
        action="store_true",
        help="run with PORTAL_TRUST_PROXY=0 and every burst attempt from 127.0.0.1 (the "
        "per-address limit of 20 registrations a minute then refuses most of them)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--portal-app",
        default="portal.wsgi:app",
        help="the WSGI app gunicorn serves (to measure a variant; PYTHONPATH is passed on)",
    )
    args = parser.parse_args(argv)

    check_tools(args.redis_url)
    database_url = libpq_url(args.database_url)
    with psycopg.connect(database_url) as conn:
        handles = load_handles(conn)
    floor_rows = floor_app.prepare(database_url)
    trust_proxy = not args.no_proxy_addresses
    secret_key = secrets.token_hex(32)
    wanted = [k.strip() for k in args.pages.split(",") if k.strip()]
    report = Report(
        settings={
            "workers": args.workers,
            "worker_kind": "sync"
            if args.worker_threads == 1
            else f"gthread ×{args.worker_threads} threads",
            "page_cache": args.page_cache,
            "threads": args.threads,
            "connections": args.connections,
            "duration": args.duration,
            "cpus": os.cpu_count(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "trust_proxy": trust_proxy,
            "floor_rows": floor_rows,
            "portal_app": args.portal_app,
        }
    )
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="linkj-bench-") as temp, stopped_on_signals():
        work = Path(temp)

        def measure() -> None:
            instance = work / "instance"
            env = server_env(database_url, args.redis_url, secret_key, instance, trust_proxy)
            if args.page_cache == "off":
                env["PAGE_CACHE_URL"] = "off"
            portal = start_server(
                "portal", args.portal_app, env, work, args.workers, args.worker_threads
            )
            servers.append(portal)
            floor_app_name = "bench.floor_app:create_app()"
            floor = start_server(
                "floor", floor_app_name, env, work, args.workers, args.worker_threads
            )
            servers.append(floor)
            for server in servers:
                wait_healthy(server)
            print(f"portal on {portal.base_url}, floor on {floor.base_url} (logs in {work})")

            sessions = SessionMaker(secret_key, database_url, work / "instance")
            member = sessions.session(handles.member_id)
            admin = sessions.session(handles.admin_id)
            staff = sessions.session(handles.staff_id)
            big = handles.big_event_slug
            pages = [
                Page("events", "event list (anonymous)", "/events/", None, "Events"),
                Page(
                    "event",
                    "event page, BIOCOM member (partner price)",
                    f"/events/{big}",
                    member,
                    "Partner-member rate",
                ),
                Page("dashboard", "member dashboard", "/account", member, "My memberships"),
                Page(
                    "queue",
                    f"verification queue, {handles.pending:,} pending",
                    f"/admin/organizations/{handles.queue_org}/memberships",
                    admin,
                    "BIO-",
                ),
                Page(
                    "registrations",
                    f"staff: registrations of the {handles.big_event_registrations:,} event",
                    f"/admin/events/{big}/registrations",
                    staff,
                    "@bench.example",
                ),
            ]
            pages = [p for p in pages if p.key in wanted]
            floor_page = Page("floor", "floor", "/", None, "Item 00001", server="floor")
            check_page(floor.base_url, floor_page)
            sizes = {page.key: check_page(portal.base_url, page) for page in pages}

            def load(base_url: str, page: Page) -> Load:
                headers = page.session.headers if page.session else {"User-Agent": USER_AGENT}
                url = base_url + page.path
                if args.warmup:
                    run_wrk(
                        url,
                        headers,
                        duration=args.warmup,
                        connections=args.connections,
                        threads=args.threads,
                    )
                result = run_wrk(
                    url,
                    headers,
                    duration=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                )
                print(
                    f"  {page.key:<14} {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f} ms"
                    f"  p99 {result.p99_ms:6.1f} ms"
                )
                return result

            print("Loading each page, with the floor before, between and after them:")
            report.floor.append(load(floor.base_url, floor_page))
            for page in pages:
                result = PageResult(page.key, page.label, load(portal.base_url, page))
                result.bytes = sizes[page.key]
                report.floor.append(load(floor.base_url, floor_page))
                # Side by side: the machine's speed drifts, so compare with the neighbours.
                result.floor_rps = (report.floor[-2].rps + report.floor[-1].rps) / 2
                report.pages.append(result)

            if args.export_times:
                print("Timing the CSV export…")
                export_path = f"/admin/events/{big}/registrations.csv"
                report.export = measure_export(
                    portal.base_url, export_path, staff, args.export_times
                )
            if not args.skip_burst:
                print(f"Registration burst: {args.burst} attempts…")
                report.burst = registration_burst(
                    portal.base_url,
                    database_url,
                    handles,
                    sessions,
                    attempts=args.burst,
                    distinct_addresses=trust_proxy,
                    worker_pids=portal.worker_pids(),
                )
            for server in servers:
                report.memory[server.name] = [
                    (pid, *memory_mb(pid)) for pid in server.worker_pids()
                ]

        failed = run_servers(servers, measure, (RuntimeError, subprocess.CalledProcessError))
    if failed:
        return failed
    print_report(report)
    if args.json:
        figures = asdict(report)
        for page, result in zip(figures["pages"], report.pages, strict=True):
            page["ratio"] = result.ratio
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
