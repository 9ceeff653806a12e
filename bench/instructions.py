"""What pressing Register costs a worker, counted in instructions rather than timed.

    python -m bench.instructions [--database-url postgresql://…] [--registrations 200]

On the shared machines these benchmarks run on, the CPU's own speed drifts by a third within
minutes, so two timings of the same code differ more than two versions of it do. Valgrind
counts the instructions a process runs, which does not drift: this script runs the served app
(``portal.wsgi``, production settings, Redis for the rate limit and the memos, CSRF on) in
this process under ``valgrind --tool=cachegrind`` twice, once pressing Register for the
opening-day event ``--registrations`` more times than the other, with everything else the same
(the database, the members signed in, their event pages fetched for the CSRF token, twenty
registrations to warm up). The difference divided by ``--registrations`` is what one
registration costs the worker's process: Flask, the session's loader, the rate limit, the
form, the service, the commit. PostgreSQL's and Redis's own work is not in it
(``bench.realistic`` splits the machine's CPU by process).

Needs valgrind (``apt-get install valgrind``) and a database built by ``bench.realistic``
(its members and the opening-day event). Each run takes about a minute; the count repeats to
within half a percent.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.run import ROOT, server_env

#: Registrations made before the counted ones, in both runs.
WARM = 20


def press_register(database_url: str, redis_url: str, registrations: int, members: int) -> None:
    """The measured process: sign ``members`` in, fetch each one's event page, then press
    Register ``WARM + registrations`` times."""
    os.environ.update(server_env(database_url, redis_url, "x" * 64, Path(tempfile.mkdtemp()), True))
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    from sqlalchemy import select, update

    from bench import realistic_data
    from portal.accounts.models import LoginSession, Person
    from portal.db import utcnow
    from portal.events.models import Event, TicketType
    from portal.extensions import db
    from portal.wsgi import app

    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == realistic_data.OPENING_SLUG))
        if event is None:
            raise SystemExit("no opening-day event: build the database with bench.realistic")
        event_id, slug = event.id, event.slug
        ticket_id = db.session.scalar(
            select(TicketType.id).where(
                TicketType.event_id == event_id, TicketType.audience == "non_member"
            )
        )
        emails = list(
            db.session.scalars(
                select(Person.email)
                .where(Person.email.like(f"%@{realistic_data.DOMAIN}"))
                .order_by(Person.id)
                .limit(members)
            )
        )
        db.session.remove()
    if len(emails) < WARM + registrations:
        raise SystemExit(f"{len(emails)} members: fewer than {WARM + registrations} registrations")
    realistic_data.empty_opening_event(app, event_id)
    base_url = "https://portal.example"
    clients = []
    with app.test_request_context():
        people = db.session.scalars(select(Person).where(Person.email.in_(emails))).all()
        signed_in = [person.id for person in people]
        for number, person in enumerate(sorted(people, key=lambda p: p.email)):
            client = realistic_data.signed_in_client(app, person, base_url=base_url)
            client.environ_base["REMOTE_ADDR"] = f"10.9.{number // 250}.{number % 250 + 1}"
            clients.append(client)
        db.session.commit()
        db.session.remove()
    page, path = f"{base_url}/events/{slug}", f"/events/{slug}/register"
    forms = []
    for client in clients:
        html = client.get(page).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        if token is None:
            raise SystemExit("no CSRF token on the event page")
        forms.append({"csrf_token": token.group(1), "ticket_type": str(ticket_id)})
    # Marked seen a moment ago, as after the event page: no counted press marks its session
    # seen again (the loader does that at most once a minute, and under valgrind the presses
    # take longer than that, some of them then paying for it and some not).
    with app.app_context():
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.person_id.in_(signed_in))
            .values(last_seen_at=utcnow() + timedelta(minutes=30))
        )
        db.session.commit()
        db.session.remove()
    for client, form in list(zip(clients, forms, strict=True))[: WARM + registrations]:
        answer = client.post(path, data=form, base_url=base_url, headers={"Referer": page})
        if answer.status_code != 302 or "/events/tickets/" not in answer.location:
            raise SystemExit(f"Register answered {answer.status_code} {answer.location}")


def counted(args: argparse.Namespace, registrations: int) -> int:
    """Instructions valgrind counted for one run of ``press_register``."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--inside",
        "--database-url",
        args.database_url,
        "--redis-url",
        args.redis_url,
        "--registrations",
        str(registrations),
        "--members",
        str(args.members),
    ]
    # The same hashes in both runs: dictionaries and sets then do the same work.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"the counted run failed:\n{result.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument("--members", type=int, default=WARM + 300)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL): the database bench.realistic built")
    if args.inside:
        press_register(args.database_url, args.redis_url, args.registrations, args.members)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    # Once outside the count, so that neither counted run compiles the modules it imports.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "portal"), str(ROOT / "bench")],
        check=True,
    )
    without = counted(args, 0)
    with_them = counted(args, args.registrations)
    per = (with_them - without) / args.registrations
    print(
        f"pressing Register: {per / 1e6:.2f} million instructions per registration in the "
        f"worker's process ({args.registrations} registrations; runs of "
        f"{without / 1e9:.2f} and {with_them / 1e9:.2f} billion)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
