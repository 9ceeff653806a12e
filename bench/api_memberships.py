"""The API's membership list at network scale: 150,000 memberships, requests per second as a
share of the floor, and statements per request constant in the data size.

    python -m bench.api_memberships --database-url postgresql://postgres@127.0.0.1:5432/NAME \\
        [--requests 300]

Migrates and seeds the database, fills it to 150,000 memberships (most of them BIOCOM's,
so BIOCOM's list is the big one; Kyoto Research Park keeps about 1,500, the small one), gives
a BIOCOM admin and a KRP admin a key, then, in this one process, serves sequentially:

- ``GET /api/v1/organizations/<slug>/memberships`` (first page, a page deep in the list by
  cursor, a filtered page) through the portal's whole stack (key lookup, scope, ETag, rate
  limit, audit INSERT), and
- the floor (``bench.floor_app``: 20 rows of a 5,000-row table through a template),

and prints each page's rate as a share of the floor's, measured in the same run, and the
SQL statements each request sent, for the big and the small organization. Nothing is
asserted: the machine is shared and its speed drifts; the ratio and the counts are what
compare. ``tests/api/test_conventions.py`` asserts the constant count.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, func, insert, select, text

from bench import floor_app
from portal import create_app
from portal.accounts.models import Membership, Person, Role, RoleGrant
from portal.api.keys import create_key
from portal.api.models import Scope
from portal.extensions import db
from portal.organizations.models import Organization
from portal.organizations.services import seed_network

TOTAL = 150_000
BIG, SMALL = "biocom", "krp"
SMALL_SHARE = 1_500
CHUNK = 10_000
STATUSES = ("verified", "verified", "verified", "pending", "expired", "revoked", "rejected")


def _fill(slugs: dict[str, int]) -> int:
    """Bulk-insert people and memberships up to TOTAL; returns how many there are."""
    have = db.session.scalar(select(func.count()).select_from(Membership)) or 0
    now = datetime.now(UTC)
    plan = [(SMALL, SMALL_SHARE), (BIG, TOTAL - SMALL_SHARE)]
    made = have
    for slug, wanted in plan:
        org_id = slugs[slug]
        present = (
            db.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.organization_id == org_id)
            )
            or 0
        )
        for start in range(present, wanted, CHUNK):
            stop = min(start + CHUNK, wanted)
            emails = [f"api-bench-{slug}-{n}@bench.example" for n in range(start, stop)]
            db.session.execute(
                insert(Person),
                [
                    {
                        "email": e,
                        "email_normalized": e,
                        "email_confirmed_at": now,
                        "family_name": "Bench",
                        "given_name": str(n),
                        "family_name_kana": "",
                        "given_name_kana": "",
                        "romanized_name": "",
                        "affiliation": "",
                        "session_version": 1,
                    }
                    for n, e in enumerate(emails, start=start)
                ],
            )
            ids = db.session.scalars(
                select(Person.id).where(Person.email_normalized.in_(emails))
            ).all()
            db.session.execute(
                insert(Membership),
                [
                    {
                        "person_id": person_id,
                        "organization_id": org_id,
                        "kind": "individual",
                        "status": STATUSES[i % len(STATUSES)],
                        "member_number": f"B{i:07d}",
                        "valid_until": date(2099, 3, 31),
                        "decision_reason": "",
                    }
                    for i, person_id in enumerate(ids, start=start)
                ],
            )
            db.session.commit()
            made += len(ids)
            print(f"  {slug}: {stop:,} memberships", flush=True)
    return made


def _key(slug: str) -> str:
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    email = f"api-bench-admin@{slug}.bench.example"
    person = db.session.scalar(select(Person).where(Person.email_normalized == email))
    if person is None:
        person = Person(email=email, email_normalized=email, email_confirmed_at=datetime.now(UTC))
        db.session.add(person)
        db.session.flush()
        db.session.add(
            RoleGrant(person_id=person.id, role=Role.PARTNER_ADMIN, organization_id=organization.id)
        )
        db.session.commit()
    return create_key(
        organization, actor=person, name="bench", scopes=[Scope.MEMBERSHIPS_READ.value]
    ).secret


def _rate(call: Callable[[], int], requests: int) -> float:
    for _ in range(10):  # warm up: connections, templates, the key's last use
        assert call() == 200
    started = time.perf_counter()
    for _ in range(requests):
        status = call()
        assert status == 200, status
    return requests / (time.perf_counter() - started)


def _statements(engine: object, call: Callable[[], int]) -> int:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "after_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "after_cursor_execute", record)
    return len(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": floor_app.sqlalchemy_url(args.database_url),
            "PAGE_CACHE_URL": "",
            "API_RATE_LIMIT": "1000000 per minute",
        }
    )
    floor_app.prepare(args.database_url)
    floor = floor_app.create_app(args.database_url).test_client()
    with app.app_context():
        upgrade()
        seed_network()
        slugs = dict(db.session.execute(select(Organization.slug, Organization.id)).all())
        print("filling…", flush=True)
        total = _fill(slugs)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # fresh statistics, as autovacuum would give
            db.session.commit()
        secrets = {slug: _key(slug) for slug in (BIG, SMALL)}
        engine = db.engine
        db.session.remove()
    client: FlaskClient = app.test_client()

    def api(slug: str, query: str) -> Callable[[], int]:
        headers = {"Authorization": f"Bearer {secrets[slug]}"}
        path = f"/api/v1/organizations/{slug}/memberships{query}"

        def call() -> int:
            with app.app_context():
                return client.get(path, headers=headers).status_code

        return call

    with app.app_context():
        deep = (
            int(
                db.session.scalar(
                    select(func.max(Membership.id)).where(Membership.organization_id == slugs[BIG])
                )
                or 0
            )
            - 100
        )
    pages = {
        "first page (50)": "?limit=50",
        "deep page by cursor": f"?limit=50&cursor={deep}",
        "pending, 200 a page": "?status=pending&limit=200",
    }
    floor_call = lambda: floor.get("/").status_code  # noqa: E731
    floor_rates = [_rate(floor_call, args.requests)]
    rows = []
    for label, query in pages.items():
        rate = _rate(api(BIG, query), args.requests)
        floor_rates.append(_rate(floor_call, args.requests))
        api(SMALL, "")()  # the small key's first use also records its last use
        with app.app_context():
            big = _statements(engine, api(BIG, query))
            small = _statements(engine, api(SMALL, query.replace(str(deep), "0")))
        rows.append((label, rate, big, small))
    floor_rate = statistics.mean(floor_rates)
    print(f"\n{total:,} memberships ({BIG}: {TOTAL - SMALL_SHARE:,}, {SMALL}: {SMALL_SHARE:,})")
    print(f"floor: {floor_rate:,.0f} req/s (mean of {len(floor_rates)} runs, in-process)")
    print(f"{'request':<24}{'req/s':>8}{'÷ floor':>9}{'SQL ' + BIG:>12}{'SQL ' + SMALL:>10}")
    for label, rate, big, small in rows:
        print(f"{label:<24}{rate:>8,.0f}{rate / floor_rate:>9.2f}{big:>12}{small:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
