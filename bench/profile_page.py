"""What one page costs to render without any cache, and where the time goes.

    python -m bench.profile_page [--database-url …] [--times 200] [--top 20]

Uses the database ``bench.realistic`` built (its SQLite file by default; build it first with a
short ``python -m bench.realistic --duration 5``). In this process, with the page cache off, a
signed-in member and an anonymous visitor load the event page, the event list and the member's
dashboard ``--times`` times each; then members register for the opening-day event one by one.
For each it prints milliseconds per request, SQL statements per request, translation look-ups
and date formats per request, and cProfile's top functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import realistic_data

#: Functions counted per request (by name, as cProfile reports them).
COUNTED = {
    "translation look-ups": (
        "gettext",
        "ugettext",
        "pgettext",
        "ngettext",
        "_template_gettext",
        "_template_ngettext",
        "_template_pgettext",
        "_template_npgettext",
    ),
    "date formats": ("format_datetime", "format_skeleton", "format_time", "format_date"),
}


def _calls(stats: pstats.Stats, names: tuple[str, ...]) -> int:
    total = 0
    for (filename, _line, function), (_cc, ncalls, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        # Flask-Babel's and Babel's own, and the portal's (``portal.language``) that templates
        # and modules call instead.
        if function in names and ("babel" in filename or filename.endswith("language.py")):
            total += ncalls
    return total


def profile(
    label: str, request: Callable[[], Any], times: int, top: int, statements: list[str]
) -> dict[str, float]:
    for _ in range(5):
        request()  # templates compiled, statements cached
    statements.clear()
    began = time.perf_counter()
    for _ in range(times):
        request()
    ms = (time.perf_counter() - began) * 1000 / times
    count = len(statements) / times
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        request()
    profiler.disable()
    stats = pstats.Stats(profiler)
    figures = {"ms": ms, "statements": count}
    figures.update({what: _calls(stats, names) / times for what, names in COUNTED.items()})
    print(
        f"\n=== {label}: {ms:.1f} ms per request, {count:.1f} SQL statements, "
        + ", ".join(f"{figures[what]:.0f} {what}" for what in COUNTED)
    )
    _print_top(profiler, top, times)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_page", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--sqlite-path", type=Path, default=Path("instance/realistic.sqlite3"))
    parser.add_argument("--times", type=int, default=200)
    parser.add_argument("--registrations", type=int, default=100)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--pages", default="event,events,dashboard,register")
    args = parser.parse_args(argv)
    database_url = args.database_url or f"sqlite:///{args.sqlite_path.resolve()}"
    os.environ["PORTAL_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="linkj-profile-")

    from portal import create_app
    from portal.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "profile",
            "PAGE_CACHE_URL": "",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    workload = realistic_data.build(app, 2000)
    wanted = set(args.pages.split(","))
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", lambda *a: statements.append(a[2]))
    member_email = next(email for email, home in workload.members if home == "biocom")
    slug = next(s for s, visibility, _p in workload.events if visibility == "public")
    member, anonymous = app.test_client(), app.test_client()
    answer = member.post(
        "/login", data={"email": member_email, "password": realistic_data.PASSWORD}
    )
    assert answer.status_code == 302, answer.status_code

    def get(client: Any, path: str) -> Callable[[], Any]:
        def request() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return request

    results: dict[str, dict[str, float]] = {}
    pages = {
        "event": [
            ("event page, BIOCOM member", get(member, f"/events/{slug}")),
            ("event page, anonymous", get(anonymous, f"/events/{slug}")),
        ],
        "events": [
            ("event list, BIOCOM member", get(member, "/events/")),
            ("event list, anonymous", get(anonymous, "/events/")),
        ],
        "dashboard": [("member dashboard", get(member, "/account"))],
    }
    for key, entries in pages.items():
        if key in wanted:
            for label, request in entries:
                results[label] = profile(label, request, args.times, args.top, statements)
    if "register" in wanted:
        # Registering as production does it: the event's definition remembered between
        # requests (versions.GraphMemo, here in memory; Redis in production).
        remembering = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SECRET_KEY": "profile",
                "PAGE_CACHE_URL": "memory://",
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        with remembering.app_context():
            event.listen(db.engine, "after_cursor_execute", lambda *a: statements.append(a[2]))
        results["pressing Register"] = profile_registering(remembering, workload, args, statements)
    print("\nsummary (per request): ms, SQL statements, translation look-ups, date formats")
    for label, figures in results.items():
        print(
            f"  {label:<32} {figures['ms']:7.1f} {figures['statements']:5.1f} "
            f"{figures['translation look-ups']:6.0f} {figures['date formats']:5.0f}"
        )
    return 0


def profile_registering(
    app: Any, workload: realistic_data.Workload, args: argparse.Namespace, statements: list[str]
) -> dict[str, float]:
    """Pressing Register (``POST /events/<slug>/register``), once per member, as the worker
    answers it: session loader, form, ``events.registering.register``, redirect. Each member's
    session is written before the clock starts (signing in is not what is measured)."""
    from sqlalchemy import select

    from portal.accounts.models import Person
    from portal.events.models import TicketType
    from portal.extensions import db

    realistic_data.build(app, 2000)  # empties the opening event
    emails = [email for email, _home in workload.members][: args.registrations * 2 + 5]
    with app.test_request_context():
        # Each member signed in once, as the sign-in page does it (a session record each).
        clients = {
            person.email: realistic_data.signed_in_client(app, person)
            for person in db.session.scalars(select(Person).where(Person.email.in_(emails)))
        }
        ticket_id = db.session.scalar(
            select(TicketType.id).where(
                TicketType.event_id == workload.opening_event_id,
                TicketType.audience == "non_member",
            )
        )
        db.session.remove()
    path = f"/events/{workload.opening_slug}/register"
    profiler = cProfile.Profile()
    spent = {"timed": 0.0, "profiled": 0.0}
    counted = 0
    for number, email in enumerate(emails):
        client = clients[email]
        phase = "warm" if number < 5 else ("timed" if number < 5 + args.registrations else "prof")
        form = {"ticket_type": str(ticket_id)}
        before = len(statements)
        began = time.process_time()
        if phase == "prof":
            profiler.enable()
        response = client.post(path, data=form)
        if phase == "prof":
            profiler.disable()
        if phase == "timed":
            spent["timed"] += time.process_time() - began
            counted += len(statements) - before
        assert response.status_code == 302, response.status_code
        assert "/events/tickets/" in response.headers["Location"], response.headers["Location"]
    realistic_data.build(app, 2000)
    times = args.registrations
    stats = pstats.Stats(profiler)
    figures = {"ms": spent["timed"] * 1000 / times, "statements": counted / times}
    figures.update({what: _calls(stats, names) / times for what, names in COUNTED.items()})
    print(
        f"\n=== pressing Register: {figures['ms']:.1f} ms of this process's CPU per attempt "
        f"(the database's own work not included), {figures['statements']:.1f} SQL statements"
    )
    _print_top(profiler, args.top, times)
    return figures


def _print_top(profiler: cProfile.Profile, top: int, times: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print(f"--- top {top} by {order} (over {times} requests) ---")
        print("\n".join(line[:150] for line in lines[start : start + top + 1]))


if __name__ == "__main__":
    sys.exit(main())
