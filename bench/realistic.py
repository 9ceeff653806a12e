"""Real traffic: thousands of distinct members signed in, anonymous visitors, an opening day.

    python -m bench.realistic [--database-url postgresql://…] [--members 2000] [--workers 2]
        [--concurrency 16] [--duration 40] [--page-cache on|off] [--opening-day]

``bench.run`` loads one address as one viewer over and over, so a per-viewer page cache
answers nearly every request. This loads the portal as people use it. It builds a database
(``bench.realistic_data``: the demo network, ``--members`` distinct members with verified
memberships at LINK-J and the partners, 40 joint events of every visibility), serves it with
gunicorn (``--workers`` sync workers, ``PORTAL_ENV=production``, Redis for the cache and the
rate limits) on PostgreSQL when ``--database-url`` names one, else on a SQLite file, and
serves the floor (``bench.floor_app``, what ``bench.run`` compares with) from a second
gunicorn with the same settings.

Every member signs in through ``/login`` (the form's CSRF token, their own session cookie,
their own client address behind the trusted proxy). Then ``--concurrency`` clients run visits
until ``--duration`` is over: 30 % anonymous, 3–6 pages each, event pages chosen with a
Zipf-skewed popularity. ``--opening-day`` adds, during that traffic, 500 members registering
for one 100-seat event within 5 seconds; the database then says how many were confirmed. The
``registering`` phase has the same 500 press Register as fast as they are answered, with no
page traffic: the rate registering reaches alone, over the floor's. It runs
``--registering-rounds`` rounds (3; the event emptied between them) and counts the median:
one round lasts about a second and a half, and single rounds vary by a fifth. The floor is
loaded again before each round and after the last, and each round is counted against the
mean of the floors on either side of it: on these machines the speed of the CPU itself drifts
by a third within minutes, and a round compared with a floor measured minutes away said more
of the drift than of the portal.

The floor is loaded by the same client at the same concurrency, before and after the
traffic; a page kind's ratio to it is ``concurrency / mean latency`` (the rate the server
would reach if every request cost what that kind costs) divided by the floor's rate. The
figures are for comparing, not asserting: the machine is shared and its speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from bisect import bisect
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import aiohttp

from bench import floor_app, realistic_data
from bench.run import (
    Server,
    cpu_by_process,
    cpu_seconds,
    machine_busy_seconds,
    memory_mb,
    run_servers,
    server_env,
    start_server,
    stop_server,
    stopped_on_signals,
    wait_healthy,
)

#: Targets of issue 19 (printed, never asserted).
TARGET_RATIO = 0.4
TARGET_P95_MS = 150.0
TARGET_BURST_P95_MS = 1000.0
TARGET_REGISTERING_RATIO = 0.3
TARGET_REGISTRATION_RATIO = 0.3
TARGET_WORKER_MB = 150.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TICKET = re.compile(r'name="ticket_type"[^>]*value="(\d+)"')
SERVER_TIMING = re.compile(r"app;dur=([\d.]+)")
SERVER_CPU = re.compile(r"cpu;dur=([\d.]+)")


# --- the figures --------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    began: float
    ms: float
    status: int
    cache: str
    #: What the portal says it spent (Server-Timing), without the wait for a free worker.
    server_ms: float = 0.0
    #: The worker's CPU time on it (Server-Timing ``cpu``; 0 where the portal does not say).
    cpu_ms: float = 0.0


@dataclass
class KindFigures:
    kind: str
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    hit_rate: float | None
    errors: int
    server_ms: float
    cpu_ms: float
    ratio: float


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(
    samples: list[Sample], seconds: float, floor_rps: float, workers: int
) -> list[KindFigures]:
    """Per page kind and for the whole mix. The mix's ratio is its measured rate over the
    floor's. A kind's is the floor's worker time per request (``workers / floor rate``: the
    floor saturates the same workers) over the kind's own mean time in the portal
    (Server-Timing): the rate the portal would reach serving only that kind, over the floor."""
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    by_kind["all pages"] = list(samples)
    floor_cost_ms = workers / floor_rps * 1000 if floor_rps else 0.0
    rows = []
    for kind, group in by_kind.items():
        times = [s.ms for s in group]
        cacheable = [s for s in group if s.cache in ("hit", "miss")]
        rate = len(group) / seconds if seconds else 0.0
        server = statistics.fmean(s.server_ms for s in group) if group else 0.0
        if kind == "all pages":
            ratio = rate / floor_rps if floor_rps else 0.0
        else:
            ratio = floor_cost_ms / server if server else 0.0
        rows.append(
            KindFigures(
                kind=kind,
                requests=len(group),
                rps=rate,
                p50_ms=percentile(times, 0.50),
                p95_ms=percentile(times, 0.95),
                p99_ms=percentile(times, 0.99),
                mean_ms=statistics.fmean(times) if times else 0.0,
                hit_rate=(
                    sum(s.cache == "hit" for s in cacheable) / len(cacheable) if cacheable else None
                ),
                errors=sum(s.status >= 400 or s.status == 0 for s in group),
                server_ms=server,
                cpu_ms=statistics.fmean(s.cpu_ms for s in group) if group else 0.0,
                ratio=ratio,
            )
        )
    return sorted(rows, key=lambda r: (r.kind == "all pages", r.kind))


@dataclass
class OpeningDay:
    attempts: int
    answered: int
    registered_answers: int
    statuses: dict[str, int]
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    outcomes: dict[str, int]
    window: float
    #: The worker's CPU per attempt (Server-Timing), 0 where the portal does not say.
    cpu_ms: float = 0.0
    #: The portal's own time per attempt (Server-Timing's app), waiting for a CPU included.
    app_ms: float = 0.0
    during: list[KindFigures] = field(default_factory=list)
    #: Registering alone: the floor's rate on either side of this round (its mean counts).
    floor_around: tuple[float, float] | None = None

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def ratio(self, floor_rps: float) -> float:
        """The rate over the floor's: the floor measured around this round where it was,
        else ``floor_rps``."""
        floor = statistics.fmean(self.floor_around) if self.floor_around else floor_rps
        return self.rate / floor if floor else 0.0


class CpuSplit:
    """What each kind of process took of the machine's CPU over a stretch of load, per
    request: the portal's workers, PostgreSQL, Redis, this client, and the rest."""

    def __init__(self, servers: dict[str, Server]) -> None:
        self.servers = servers
        self.before = cpu_by_process()
        self.busy_before = machine_busy_seconds()
        #: What "other" was made of, by command name (kernel threads writing the WAL, …).
        self.others: dict[str, float] = defaultdict(float)

    def _kind(self, pid: int, name: str, parent: int) -> str:
        for label, server in self.servers.items():
            if parent == server.process.pid:
                return f"{label} workers"
            if pid == server.process.pid:
                return "gunicorn masters"
        if name in ("postgres", "postmaster"):
            return "PostgreSQL"
        if name.startswith("redis"):
            return "Redis"
        if pid == os.getpid():
            return "this client"
        return "other"

    def per_request(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request by kind of process, and the machine's busy time."""
        after = cpu_by_process()
        spent: dict[str, float] = defaultdict(float)
        for pid, (name, parent, seconds, started) in after.items():
            # A process born during the stretch counts from nothing. (Compared by name, a
            # kernel worker that had renamed itself counted its whole life here.)
            earlier = self.before.get(pid)
            since = seconds - (earlier[2] if earlier and earlier[3] == started else 0.0)
            kind = self._kind(pid, name, parent)
            spent[kind] += since
            if kind == "other" and since > 0:
                self.others[name] += since
        spent["machine busy"] = machine_busy_seconds() - self.busy_before
        count = max(1, requests)
        # The largest parts of "other", named: what else the machine was doing.
        for name, seconds in sorted(self.others.items(), key=lambda o: -o[1])[:3]:
            spent[f"other: {name}"] = seconds
        return {kind: seconds * 1000 / count for kind, seconds in spent.items()}


@dataclass
class Phase:
    """One stretch of traffic: a normal day, an opening day, or a normal day uncached."""

    name: str
    page_cache: str
    floor_rps: list[float] = field(default_factory=list)
    pages: list[KindFigures] = field(default_factory=list)
    opening: OpeningDay | None = None
    memory: list[tuple[int, float, float]] = field(default_factory=list)
    worker_cpu_ms_per_request: float = 0.0
    #: CPU per request by kind of process (``CpuSplit``), where the phase measured it.
    cpu_per_floor_request: dict[str, float] = field(default_factory=dict)
    cpu_per_registration: dict[str, float] = field(default_factory=dict)
    #: Registering alone: each round's figures (the event emptied between rounds).
    rounds: list[OpeningDay] = field(default_factory=list)

    @property
    def floor(self) -> float:
        return statistics.fmean(self.floor_rps) if self.floor_rps else 0.0


@dataclass
class Report:
    settings: dict[str, Any]
    sign_in: dict[str, float] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)


# --- a browser ----------------------------------------------------------------------------------


class Browser:
    """One person's browser: their cookies (kept by hand: production marks them Secure,
    which a client on plain HTTP would never send back) and their address."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, address: str) -> None:
        self.http = http
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.headers = {"User-Agent": "linkj-realistic/1", "X-Forwarded-For": address}

    def _take_cookies(self, response: aiohttp.ClientResponse) -> None:
        for header in response.headers.getall("Set-Cookie", []):
            pair = header.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if value and "Max-Age=0" not in header and "expires=Thu, 01 Jan 1970" not in header:
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)

    def _request_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**headers, **(extra or {})}

    async def get(self, path: str) -> tuple[int, str, str]:
        status, cache, body, _timing = await self.timed_get(path)
        return status, cache, body

    async def timed_get(self, path: str) -> tuple[int, str, str, tuple[float, float]]:
        """(status, X-Cache, body, the portal's own wall and CPU ms from Server-Timing)."""
        async with self.http.get(
            self.base_url + path, headers=self._request_headers(), allow_redirects=False
        ) as response:
            body = await response.text()
            self._take_cookies(response)
            return (
                response.status,
                response.headers.get("X-Cache", ""),
                body,
                server_timing(response),
            )

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        status, location, _timing = await self.timed_post(path, form)
        return status, location

    async def timed_post(
        self, path: str, form: dict[str, str]
    ) -> tuple[int, str, tuple[float, float]]:
        headers = self._request_headers({"Referer": self.base_url + path})
        async with self.http.post(
            self.base_url + path, data=form, headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            self._take_cookies(response)
            return response.status, response.headers.get("Location", ""), server_timing(response)


def server_timing(response: aiohttp.ClientResponse) -> tuple[float, float]:
    header = response.headers.get("Server-Timing", "")
    wall, cpu = SERVER_TIMING.search(header), SERVER_CPU.search(header)
    return float(wall.group(1)) if wall else 0.0, float(cpu.group(1)) if cpu else 0.0


def csrf_token(body: str) -> str:
    match = CSRF.search(body)
    if match is None:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


async def sign_in(browser: Browser, email: str) -> None:
    status, _cache, body = await browser.get("/login")
    if status != 200:
        raise RuntimeError(f"/login answered {status}")
    status, location = await browser.post(
        "/login",
        {"csrf_token": csrf_token(body), "email": email, "password": realistic_data.PASSWORD},
    )
    if status != 302 or "/login" in location:
        raise RuntimeError(f"signing in {email} answered {status} → {location!r}")


# --- the traffic --------------------------------------------------------------------------------


class Traffic:
    """Visits by members and anonymous visitors, recorded as samples."""

    def __init__(
        self,
        args: argparse.Namespace,
        members: list[tuple[Browser, str]],
        events: list[tuple[str, str, frozenset[str]]],
    ) -> None:
        self.args = args
        self.members = members
        self.rng = random.Random(args.seed)
        self.events = list(events)
        self.rng.shuffle(self.events)
        # Zipf-skewed popularity: the k-th event is visited in proportion to 1 / k^s.
        weights = [1 / (rank**args.zipf) for rank in range(1, len(self.events) + 1)]
        self.cumulative = list(accumulate(weights))
        self.samples: list[Sample] = []
        self.stop_at = 0.0
        self.anonymous_counter = 0

    def browsers(self) -> list[Browser]:
        return [browser for browser, _home in self.members]

    def event_path(self, home: str | None) -> str:
        """A popular event this visitor may see (people follow links to what they see)."""
        while True:
            pick = self.rng.random() * self.cumulative[-1]
            slug, visibility, partners = self.events[bisect(self.cumulative, pick)]
            if realistic_data.may_see(home, visibility, partners):
                return f"/events/{slug}"

    def next_page(self, home: str | None) -> tuple[str, str]:
        member = home is not None
        roll = self.rng.random()
        if member:
            table = (
                (0.45, "event page", None),
                (0.65, "event list", "/events/"),
                (0.75, "dashboard", "/account"),
                (0.83, "home", "/"),
                (0.92, "benefits", "/benefits"),
                (1.01, "my events", "/events/mine"),
            )
        else:
            table = (
                (0.55, "event page", None),
                (0.85, "event list", "/events/"),
                (1.01, "home", "/"),
            )
        for bound, kind, path in table:
            if roll < bound:
                return kind, path or self.event_path(home)
        raise AssertionError("unreachable")

    async def visit(self, http: aiohttp.ClientSession, base_url: str) -> None:
        member = self.rng.random() >= self.args.anonymous
        home = None
        if member:
            browser, home = self.rng.choice(self.members)
        else:
            self.anonymous_counter += 1
            n = self.anonymous_counter
            browser = Browser(http, base_url, f"10.200.{n // 250 % 250}.{n % 250 + 1}")
        first = ("dashboard", "/account") if member else ("home", "/")
        pages = [first] + [self.next_page(home) for _ in range(self.rng.randint(2, 5))]
        for kind, path in pages:
            if time.monotonic() >= self.stop_at:
                return
            began = time.monotonic()
            try:
                status, cache, _body, (server_ms, cpu_ms) = await browser.timed_get(path)
            except (TimeoutError, aiohttp.ClientError):
                status, cache, server_ms, cpu_ms = 0, "", 0.0, 0.0
            elapsed = (time.monotonic() - began) * 1000
            self.samples.append(Sample(kind, began, elapsed, status, cache, server_ms, cpu_ms))

    async def run(self, http: aiohttp.ClientSession, base_url: str, seconds: float) -> None:
        self.stop_at = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < self.stop_at:
                await self.visit(http, base_url)

        await asyncio.gather(*(client() for _ in range(self.args.concurrency)))


async def load_floor(
    http: aiohttp.ClientSession, base_url: str, seconds: float, concurrency: int
) -> tuple[float, float]:
    """The floor's rate and p95 with the same client and concurrency."""
    stop_at = time.monotonic() + seconds
    times: list[float] = []

    async def client() -> None:
        while time.monotonic() < stop_at:
            began = time.monotonic()
            async with http.get(base_url + "/") as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"the floor answered {response.status}")
            times.append((time.monotonic() - began) * 1000)

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(times) / (time.monotonic() - began), percentile(times, 0.95)


async def opening_forms(registrants: list[Browser], slug: str) -> list[dict[str, str]]:
    """The registration form of each registrant (they had the page open before it opened)."""
    gate = asyncio.Semaphore(16)

    async def form(browser: Browser) -> dict[str, str]:
        async with gate:
            status, _cache, body = await browser.get(f"/events/{slug}")
        ticket = TICKET.search(body)
        if status != 200 or ticket is None:
            raise RuntimeError(f"the opening event's page answered {status} without a ticket")
        return {"csrf_token": csrf_token(body), "ticket_type": ticket.group(1)}

    return list(await asyncio.gather(*(form(b) for b in registrants)))


async def opening_day(
    registrants: list[Browser],
    forms: list[dict[str, str]],
    slug: str,
    window: float,
    rng: random.Random,
) -> Presses:
    """Each registrant presses Register once at a random moment within ``window`` seconds."""
    presses = Presses(registrants, forms, slug)

    async def attempt(number: int) -> None:
        await asyncio.sleep(rng.random() * window)
        await presses.press(number)

    await asyncio.gather(*(attempt(n) for n in range(len(registrants))))
    return presses


class Presses:
    """Registrants pressing Register, each once, and what each was answered."""

    def __init__(self, registrants: list[Browser], forms: list[dict[str, str]], slug: str):
        self.registrants, self.forms, self.slug = registrants, forms, slug
        count = len(registrants)
        self.outcomes = [""] * count
        self.latencies = [0.0] * count
        self.cpu = [0.0] * count
        self.app = [0.0] * count
        self.began = time.monotonic()
        self.ended = [self.began] * count

    async def press(self, number: int) -> None:
        start = time.monotonic()
        try:
            status, location, (self.app[number], self.cpu[number]) = await self.registrants[
                number
            ].timed_post(f"/events/{self.slug}/register", self.forms[number])
            if status in (302, 303) and "/events/tickets/" in location:
                self.outcomes[number] = "registered"
            elif status in (302, 303):
                self.outcomes[number] = "refused (flash)"
            else:
                self.outcomes[number] = f"HTTP {status}"
        except (TimeoutError, aiohttp.ClientError) as error:
            self.outcomes[number] = f"error: {type(error).__name__}"
        self.ended[number] = time.monotonic()
        self.latencies[number] = (self.ended[number] - start) * 1000

    def figures(self, app: Any, workload: realistic_data.Workload, window: float) -> OpeningDay:
        """What the presses were answered, and what the database holds after them."""
        counted: dict[str, int] = defaultdict(int)
        for outcome in self.outcomes:
            counted[outcome] += 1
        mean = statistics.fmean
        return OpeningDay(
            attempts=len(self.registrants),
            answered=sum(1 for o in self.outcomes if not o.startswith("error")),
            registered_answers=counted.get("registered", 0),
            statuses=realistic_data.seat_statuses(app, workload.opening_event_id),
            seconds=max(self.ended) - self.began,
            p50_ms=percentile(self.latencies, 0.5),
            p95_ms=percentile(self.latencies, 0.95),
            max_ms=max(self.latencies),
            outcomes=dict(counted),
            window=window,
            cpu_ms=mean(self.cpu) if self.cpu else 0.0,
            app_ms=mean(self.app) if self.app else 0.0,
        )


async def registering_alone(
    registrants: list[Browser], forms: list[dict[str, str]], slug: str, concurrency: int
) -> Presses:
    """Every registrant presses Register as soon as one of ``concurrency`` clients is free,
    with nothing else asking the portal anything: the rate registering alone reaches."""
    presses = Presses(registrants, forms, slug)
    waiting = list(range(len(registrants)))

    async def client() -> None:
        while waiting:
            await presses.press(waiting.pop())

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return presses


# --- the run ------------------------------------------------------------------------------------

PHASES = {
    "normal": ("on", False),
    "opening": ("on", True),
    # Registering alone: the opening day's registrants, as fast as they are answered, and no
    # page traffic (the rate issue 19 compares with the floor's).
    "registering": ("on", True),
    "uncached": ("off", False),
}


async def sign_in_everyone(
    args: argparse.Namespace,
    http: aiohttp.ClientSession,
    base_url: str,
    workload: realistic_data.Workload,
    report: Report,
) -> list[Browser]:
    print(f"signing in {len(workload.members):,} members through /login…")
    members = [
        Browser(http, base_url, f"10.{1 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}")
        for n in range(len(workload.members))
    ]
    began = time.monotonic()
    queue = [(b, email) for b, (email, _home) in zip(members, workload.members, strict=True)]

    async def signer() -> None:
        while queue:
            browser, email = queue.pop()
            await sign_in(browser, email)

    await asyncio.gather(*(signer() for _ in range(args.concurrency)))
    spent = time.monotonic() - began
    report.sign_in = {"members": len(members), "seconds": spent, "per_second": len(members) / spent}
    print(f"  {len(members):,} signed in in {spent:.1f} s ({len(members) / spent:.0f}/s)")
    return members


async def run_phase(
    args: argparse.Namespace,
    phase: Phase,
    http: aiohttp.ClientSession,
    portal: Server,
    floor: Server,
    traffic: Traffic,
    workload: realistic_data.Workload,
    app: Any,
) -> None:
    floor_rps, _p95 = await load_floor(http, floor.base_url, args.floor_seconds, args.concurrency)
    phase.floor_rps.append(floor_rps)
    if args.warmup:
        await traffic.run(http, portal.base_url, args.warmup)
    traffic.samples = []
    registrants: list[Browser] = []
    forms: list[dict[str, str]] = []
    if PHASES[phase.name][1]:
        realistic_data.empty_opening_event(app, workload.opening_event_id)
        rng = random.Random(args.seed + 7)
        registrants = rng.sample(traffic.browsers(), min(args.registrants, len(traffic.members)))
        forms = await opening_forms(registrants, workload.opening_slug)
    workers = portal.worker_pids()
    cpu_before = cpu_seconds(workers)
    if phase.name == "registering":
        await run_registering_alone(
            args, phase, http, portal, floor, workload, app, registrants, forms
        )
        return
    print(f"{phase.name}: traffic for {args.duration:g} s at {args.concurrency} concurrent…")
    began = time.monotonic()
    running = asyncio.create_task(traffic.run(http, portal.base_url, args.duration))
    burst: tuple[float, float] | None = None
    if registrants:
        await asyncio.sleep(max(0.0, args.duration * 0.3 - (time.monotonic() - began)))
        burst_began = time.monotonic()
        presses = await opening_day(
            registrants, forms, workload.opening_slug, args.window, random.Random(args.seed)
        )
        burst = (burst_began, time.monotonic())
        phase.opening = presses.figures(app, workload, args.window)
    await running
    seconds = time.monotonic() - began
    samples = traffic.samples
    phase.worker_cpu_ms_per_request = (
        (cpu_seconds(workers) - cpu_before) * 1000 / max(1, len(samples))
    )
    floor_rps, _p95 = await load_floor(http, floor.base_url, args.floor_seconds, args.concurrency)
    phase.floor_rps.append(floor_rps)
    phase.pages = figures(samples, seconds, phase.floor, args.workers)
    if phase.opening and burst:
        during = [s for s in samples if burst[0] <= s.began <= burst[1]]
        phase.opening.during = figures(during, burst[1] - burst[0], phase.floor, args.workers)
    phase.memory = [(pid, *memory_mb(pid)) for pid in portal.worker_pids()]


async def run_registering_alone(
    args: argparse.Namespace,
    phase: Phase,
    http: aiohttp.ClientSession,
    portal: Server,
    floor: Server,
    workload: realistic_data.Workload,
    app: Any,
    registrants: list[Browser],
    forms: list[dict[str, str]],
) -> None:
    print(
        f"registering: {len(registrants)} members press Register, {args.concurrency} at a time, "
        f"nothing else running, {args.registering_rounds} round(s)…"
    )
    servers = {"portal": portal, "floor": floor}
    splits: list[dict[str, float]] = []
    # A short floor before each round (and a full one after the last): each round is counted
    # against the floors on either side of it.
    between = max(3.0, args.floor_seconds / 2)
    floors: list[float] = []
    for number in range(args.registering_rounds):
        if number:
            # The same members again, on an empty event (outside the CPU measured).
            realistic_data.empty_opening_event(app, workload.opening_event_id)
        floor_rps, _p95 = await load_floor(http, floor.base_url, between, args.concurrency)
        floors.append(floor_rps)
        split = CpuSplit(servers)
        presses = await registering_alone(
            registrants, forms, workload.opening_slug, args.concurrency
        )
        splits.append(split.per_request(len(registrants)))
        phase.rounds.append(presses.figures(app, workload, window=0.0))
    averaged = {
        kind: statistics.fmean(split.get(kind, 0.0) for split in splits)
        for kind in dict.fromkeys(kind for split in splits for kind in split)
    }
    named = sorted((k for k in averaged if k.startswith("other: ")), key=lambda k: -averaged[k])
    phase.cpu_per_registration = {k: v for k, v in averaged.items() if k not in named[3:]}
    split = CpuSplit(servers)
    began = time.monotonic()
    floor_rps, _p95 = await load_floor(http, floor.base_url, args.floor_seconds, args.concurrency)
    phase.cpu_per_floor_request = split.per_request(round(floor_rps * (time.monotonic() - began)))
    floors.append(floor_rps)
    phase.floor_rps.extend(floors)
    for number, figures in enumerate(phase.rounds):
        figures.floor_around = (floors[number], floors[number + 1])
    # The round with the median ratio stands for the phase; every round is printed.
    phase.opening = sorted(phase.rounds, key=lambda r: r.ratio(phase.floor))[len(phase.rounds) // 2]


async def drive(
    args: argparse.Namespace,
    start_portal: Any,
    floor: Server,
    report: Report,
    workload: realistic_data.Workload,
    app: Any,
) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        portal = start_portal("on")
        members = await sign_in_everyone(args, http, portal.base_url, workload, report)
        traffic = Traffic(
            args,
            [(b, home) for b, (_email, home) in zip(members, workload.members, strict=True)],
            workload.events,
        )
        for name in args.phases:
            cache = PHASES[name][0]
            if portal.name != f"portal-{cache}":
                stop_server(portal)
                portal = start_portal(cache)
            for browser in members:
                browser.base_url = portal.base_url
            phase = Phase(name, cache)
            report.phases.append(phase)
            await run_phase(args, phase, http, portal, floor, traffic, workload, app)
            print_phase(phase, args.workers)
        stop_server(portal)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_table(rows: list[KindFigures]) -> None:
    header = (
        f"{'page kind':<12} {'reqs':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'hits':>5} {'errors':>6} {'app ms':>7} {'cpu ms':>7} {'÷ floor':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        hits = f"{row.hit_rate:.0%}" if row.hit_rate is not None else "—"
        print(
            f"{row.kind:<12} {row.requests:>6} {row.rps:>7.1f} {row.p50_ms:>7.1f}"
            f" {row.p95_ms:>7.1f} {row.p99_ms:>7.1f} {hits:>5} {row.errors:>6}"
            f" {row.server_ms:>7.1f} {row.cpu_ms:>7.1f} {row.ratio:>8.3f}"
        )


def print_cpu_split(what: str, split: dict[str, float]) -> None:
    if not split:
        return
    kinds = sorted(
        (k for k in split if k != "machine busy" and not k.startswith("other: ")),
        key=lambda k: -split[k],
    )
    shown = ", ".join(f"{kind} {split[kind]:.2f}" for kind in kinds if split[kind] >= 0.005)
    others = ", ".join(
        f"{kind.removeprefix('other: ')} {value:.2f}"
        for kind, value in split.items()
        if kind.startswith("other: ") and value >= 0.05
    )
    print(
        f"  CPU per {what.split(' ', 1)[1]} (ms): {shown}; the machine busy "
        f"{split.get('machine busy', 0.0):.2f}" + (f" (other: {others})" if others else "")
    )


def print_phase(phase: Phase, workers: int) -> None:
    print(
        f"\n[{phase.name}] page cache {phase.page_cache}; floor before and after: "
        + ", ".join(f"{r:.0f}" for r in phase.floor_rps)
        + f" req/s (mean {phase.floor:.0f})"
    )
    if phase.pages:
        print_table(phase.pages)
    whole = next((r for r in phase.pages if r.kind == "all pages"), None)
    if whole is not None:
        print(
            f"targets: all pages ≥ {TARGET_RATIO} × floor: {_yes(whole.ratio >= TARGET_RATIO)}; "
            f"p95 < {TARGET_P95_MS:.0f} ms: {_yes(whole.p95_ms < TARGET_P95_MS)}; "
            f"worker CPU per request {phase.worker_cpu_ms_per_request:.1f} ms"
        )
    if phase.opening and phase.name == "registering":
        o = phase.opening
        rounds = phase.rounds or [o]
        ratio = o.ratio(phase.floor)
        print(
            f"Registering alone: {o.attempts} members pressed Register for a "
            f"{realistic_data.OPENING_SEATS}-seat event as fast as they were answered, "
            f"no page traffic; {len(rounds)} round(s), the event emptied between them, each "
            "counted against the floor measured just before and just after it"
        )
        if phase.floor:
            shown = ", ".join(
                f"{r.rate:.0f}/s ({r.ratio(phase.floor):.3f}"
                + (f" of {statistics.fmean(r.floor_around):.0f}" if r.floor_around else "")
                + ")"
                for r in rounds
            )
            print(f"  rounds: {shown}")
        print(
            f"  the median round: answered {o.answered}/{o.attempts} in {o.seconds:.2f} s = "
            f"{o.rate:.0f}/s = {ratio:.3f} × floor (target ≥ {TARGET_REGISTERING_RATIO}: "
            f"{_yes(ratio >= TARGET_REGISTERING_RATIO)}); latency p50 {o.p50_ms:.0f} ms, "
            f"p95 {o.p95_ms:.0f} ms; worker CPU per attempt {o.cpu_ms:.1f} ms, app time "
            f"{o.app_ms:.1f} ms (Server-Timing)"
        )
        print(f"  answers: {dict(sorted(o.outcomes.items()))}; in the database: {o.statuses}")
        answered = all(r.answered == r.attempts for r in rounds)
        exact = all(
            r.statuses.get("confirmed", 0) == realistic_data.OPENING_SEATS
            and not r.statuses.get("duplicate people")
            for r in rounds
        )
        print(
            f"  all answered in every round: {_yes(answered)}; exactly "
            f"{realistic_data.OPENING_SEATS} confirmed in every round: {_yes(exact)}"
        )
        print_cpu_split("a registration", phase.cpu_per_registration)
        print_cpu_split("a floor request", phase.cpu_per_floor_request)
    elif phase.opening:
        o = phase.opening
        confirmed = o.statuses.get("confirmed", 0)
        print(
            f"Opening day: {o.attempts} members pressed Register for a "
            f"{realistic_data.OPENING_SEATS}-seat event within {o.window:g} s, during the traffic"
        )
        print(
            f"  answered {o.answered}/{o.attempts} in {o.seconds:.2f} s = {o.rate:.0f}/s "
            f"(= {o.rate / phase.floor:.3f} × floor; arrivals alone allow "
            f"{o.attempts / o.window:.0f}/s); "
            f"latency p50 {o.p50_ms:.0f} ms, p95 {o.p95_ms:.0f} ms, max {o.max_ms:.0f} ms"
        )
        print(f"  answers: {dict(sorted(o.outcomes.items()))}; in the database: {o.statuses}")
        floor_cost_ms = workers / phase.floor * 1000 if phase.floor else 0.0
        print(
            f"  worker CPU per attempt: {o.cpu_ms:.1f} ms (Server-Timing) = "
            f"{o.cpu_ms / floor_cost_ms if floor_cost_ms else 0:.1f} floor requests' worker time; "
            f"app time {o.app_ms:.1f} ms (the measured rate above is bounded by the arrivals; "
            "the registering phase measures the rate registering alone reaches)"
        )
        exact = confirmed == realistic_data.OPENING_SEATS and not o.statuses.get("duplicate people")
        print(
            f"  all answered: {_yes(o.answered == o.attempts)}; exactly "
            f"{realistic_data.OPENING_SEATS} confirmed: {_yes(exact)}"
        )
        print("  pages while the registrations were answered:")
        print_table(o.during)
        worst = max((r.p95_ms for r in o.during if r.kind != "all pages"), default=0.0)
        print(
            f"  every page's p95 < {TARGET_BURST_P95_MS:.0f} ms: "
            f"{_yes(worst < TARGET_BURST_P95_MS)}"
        )
    if phase.memory:
        shown = ", ".join(f"pid {pid}: {rss:.0f} / {pss:.0f}" for pid, rss, pss in phase.memory)
        ok = all(rss < TARGET_WORKER_MB for _p, rss, _s in phase.memory)
        print(
            f"Memory per worker after the phase (RSS / PSS MB): {shown} — "
            f"under {TARGET_WORKER_MB:.0f} MB: {_yes(ok)}"
        )


def print_report(report: Report) -> None:
    s = report.settings
    print()
    print(
        f"LINK-J portal, realistic traffic — {s['members']:,} members signed in through /login "
        f"({report.sign_in.get('per_second', 0):.0f}/s), {s['anonymous']:.0%} anonymous visits, "
        f"{s['concurrency']} concurrent, {s['duration']:g} s per phase; gunicorn {s['workers']} "
        f"sync workers, {s['database']}; {s['cpus']} CPUs; {s['started']}"
    )
    print(
        "'all pages' ÷ floor: the mix's measured rate over the floor's (bench.floor_app, same "
        "client, same concurrency, measured before and after each phase). A kind's ÷ floor: the "
        "floor's worker time per request over the kind's own time in the portal (app ms, from "
        "Server-Timing), i.e. the rate it would reach alone."
    )
    for phase in report.phases:
        print_phase(phase, s["workers"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.realistic", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL to fill and serve (default: a SQLite file)",
    )
    parser.add_argument(
        "--sqlite-path",
        type=Path,
        default=Path("instance/realistic.sqlite3"),
        help="the SQLite file when no database URL is given (kept between runs)",
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=40, help="seconds of each phase")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--floor-seconds", type=float, default=8)
    parser.add_argument("--anonymous", type=float, default=0.3)
    parser.add_argument("--zipf", type=float, default=1.1, help="skew of event popularity")
    parser.add_argument(
        "--phases",
        default="normal",
        help="comma-separated: normal (page cache on), opening (an opening day, cache on), "
        "registering (the opening day's registrants alone, as fast as they are answered), "
        "uncached (a normal day with the page cache off); the members sign in once",
    )
    parser.add_argument(
        "--opening-day", action="store_true", help="same as --phases normal,opening"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--registrants", type=int, default=500)
    parser.add_argument(
        "--registering-rounds",
        type=int,
        default=3,
        help="rounds of the registering phase (the event emptied between them; the median counts)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=5.0,
        help="seconds within which the registrants press Register",
    )
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.opening_day and args.phases == "normal":
        args.phases = "normal,opening"
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.registering_rounds < 1:
        parser.error("--registering-rounds: at least one round")

    if args.database_url:
        database_url = args.database_url
        label = "PostgreSQL" if database_url.startswith("postgres") else database_url.split(":")[0]
    else:
        args.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{args.sqlite_path.resolve()}"
        label = "SQLite"
    secret_key = secrets.token_hex(32)
    report = Report(
        settings={
            "members": args.members,
            "anonymous": args.anonymous,
            "concurrency": args.concurrency,
            "duration": args.duration,
            "workers": args.workers,
            "database": label,
            "cpus": os.cpu_count(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "phases": args.phases,
        }
    )
    with tempfile.TemporaryDirectory(prefix="linkj-realistic-") as temp, stopped_on_signals():
        work = Path(temp)
        env = server_env(database_url, args.redis_url, secret_key, work / "instance", True)
        env["PORTAL_SERVER_TIMING"] = "1"
        os.environ["PORTAL_INSTANCE_PATH"] = str(work / "instance")
        from portal import create_app

        app = create_app(
            {
                "SECRET_KEY": secret_key,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "PAGE_CACHE_URL": "",
            }
        )
        print(f"building the database ({label}, {args.members:,} members)…")
        began = time.monotonic()
        workload = realistic_data.build(app, args.members)
        print(f"  ready in {time.monotonic() - began:.1f} s: {len(workload.events)} events")
        floor_app.prepare(database_url)
        servers: list[Server] = []

        def start_portal(cache: str) -> Server:
            # A fresh server starts with no cached pages: an earlier run's are forgotten.
            with contextlib.suppress(Exception):
                import redis

                redis.Redis.from_url(args.redis_url).flushdb()
            portal_env = {**env, "PAGE_CACHE_URL": args.redis_url if cache == "on" else "off"}
            if cache == "off":
                # Nothing remembered between requests at all: no parts of pages either.
                portal_env["FRAGMENT_MEMO_SIZE"] = "0"
            server = start_server(
                f"portal-{cache}", "portal.wsgi:app", portal_env, work, args.workers
            )
            servers.append(server)
            wait_healthy(server)
            return server

        def measure() -> None:
            floor = start_server("floor", "bench.floor_app:create_app()", env, work, args.workers)
            servers.append(floor)
            wait_healthy(floor)
            asyncio.run(drive(args, start_portal, floor, report, workload, app))

        failed = run_servers(servers, measure, (RuntimeError, aiohttp.ClientError))
    if failed:
        return failed
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
