"""Fill a PostgreSQL database at the scale of the whole network after years of use.

    python -m bench.fill --database-url postgresql://postgres@127.0.0.1:5432/bench [--scale 1.0]

The schema comes from the portal's migrations (what ``portal db upgrade`` does) and the
network from ``seed_network``; everything else is bulk-loaded with COPY from a seeded random
generator, so the same day, scale and seed give the same rows. One function per entity
(``fill_people``, ``fill_memberships``…) reads the plan in ``Context`` and COPYs its table:
to load a new table, write ``fill_<entity>(ctx)`` and add it to ``STEPS``.

At scale 1.0: 100,000 people (and 500 more for the registration burst), 150,000
memberships across the seven organizations (10,000 of them BIOCOM claims pending
verification), 5,000 events over six years, 500,000 registrations (2,000 of them for one
popular forum), their card payments, and 200,000 benefit claims when the schema has the
``benefit_claim`` table. It also creates the people and events ``bench.run`` needs
(``Handles``). It refuses a database that already has people: fill a fresh one.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

#: Every person the fill creates can log in with this password (one Argon2id hash, shared).
PASSWORD = "bench-Nihonbashi-2-3-11"  # noqa: S105 - a benchmark database's, printed
DOMAIN = "bench.example"
MEMBER_EMAIL = f"member.biocom@{DOMAIN}"
ADMIN_EMAIL = f"admin.biocom@{DOMAIN}"
STAFF_EMAIL = f"staff@{DOMAIN}"
ROOT_EMAIL = f"root@{DOMAIN}"
QUEUE_ORG = "biocom"
BIG_EVENT_SLUG = "bench-forum-2000"
BURST_EVENT_SLUG = "bench-burst-100"
BURST_EMAIL = "burst-{:03d}@" + DOMAIN

#: Share of people whose first membership is with each organization.
HOME_WEIGHTS = {
    "link-j": 0.40,
    "biocom": 0.16,
    "ucsd": 0.10,
    "eurobiomed": 0.08,
    "krp": 0.12,
    "one-nucleus": 0.07,
    "ibri": 0.07,
}
JAPANESE_HOMES = {"link-j", "krp", "ibri"}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

FAMILY_JA = [
    ("佐藤", "サトウ", "Sato"),
    ("鈴木", "スズキ", "Suzuki"),
    ("高橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"),
    ("伊藤", "イトウ", "Ito"),
    ("渡辺", "ワタナベ", "Watanabe"),
    ("山本", "ヤマモト", "Yamamoto"),
    ("中村", "ナカムラ", "Nakamura"),
    ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"),
    ("吉田", "ヨシダ", "Yoshida"),
    ("山田", "ヤマダ", "Yamada"),
]
GIVEN_JA = [
    ("花子", "ハナコ", "Hanako"),
    ("太郎", "タロウ", "Taro"),
    ("健二", "ケンジ", "Kenji"),
    ("美咲", "ミサキ", "Misaki"),
    ("翔", "ショウ", "Sho"),
    ("結衣", "ユイ", "Yui"),
    ("大輔", "ダイスケ", "Daisuke"),
    ("陽子", "ヨウコ", "Yoko"),
    ("直樹", "ナオキ", "Naoki"),
    ("彩", "アヤ", "Aya"),
]
FAMILY_EN = [
    "Smith",
    "Johnson",
    "Garcia",
    "Miller",
    "Davis",
    "Martin",
    "Dubois",
    "Moreau",
    "Brown",
    "Wilson",
    "Taylor",
    "Clarke",
]
GIVEN_EN = ["Jane", "John", "Maria", "David", "Sophie", "Lucas", "Emma", "Oliver", "Chloe", "Amir"]
AFFILIATIONS = [
    "Nihonbashi Therapeutics",
    "Kyoto Cell Lab",
    "Pacific Biologics",
    "Provence Genomics",
    "Cambridge Antibody Works",
    "Kobe Medical Devices",
    "University of Tokyo",
    "Osaka Bioventures",
    "San Diego Diagnostics",
    "Lyon Vaccines",
    "",
]
TOPICS = [
    ("Regenerative Medicine", "再生医療"),
    ("Digital Health", "デジタルヘルス"),
    ("Drug Discovery", "創薬"),
    ("Medical Devices", "医療機器"),
    ("Cell and Gene Therapy", "細胞・遺伝子治療"),
    ("Healthcare AI", "ヘルスケアAI"),
    ("Startup Pitch", "スタートアップピッチ"),
    ("Clinical Trials", "臨床試験"),
]
KINDS = [
    ("seminar", "Seminar", "セミナー"),
    ("forum", "Forum", "フォーラム"),
    ("symposium", "Symposium", "シンポジウム"),
    ("site_visit", "Site Visit", "視察"),
    ("workshop", "Workshop", "ワークショップ"),
    ("networking", "Networking Night", "交流会"),
]
DESCRIPTION_EN = (
    "Researchers, companies and investors of the LINK-J network meet to discuss {topic}: "
    "keynotes from leading laboratories, short talks from start-ups, and time to meet "
    "partners from San Diego, Marseille, Cambridge, Kyoto and Kobe. "
) * 3
DESCRIPTION_JA = (
    "{topic}をテーマに、LINK-Jネットワークの研究者・企業・投資家が集います。"
    "基調講演、スタートアップによるショートトーク、海外パートナーとの交流の時間があります。"
) * 3


# --- how much -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    people: int
    memberships: int
    pending: int
    events: int
    registrations: int
    big_event: int
    claims: int
    burst_seats: int = 100
    burst_people: int = 500

    @classmethod
    def of(cls, factor: float) -> Scale:
        def n(base: int) -> int:
            return max(1, round(base * factor))

        people = max(n(100_000), 50)
        return cls(
            people=people,
            memberships=min(max(n(150_000), people), 2 * people),
            pending=n(10_000),
            events=max(n(5_000), 10),
            registrations=n(500_000),
            big_event=min(2_000, people - 20, n(500_000)),
            claims=n(200_000),
        )


# --- what has been planned so far, shared by the steps ------------------------------------------


@dataclass
class Organization:
    id: int
    slug: str
    kind: str
    timezone: str
    currency: str


@dataclass
class EventPlan:
    id: int
    slug: str
    kind: str
    status: str
    visibility: str
    host: Organization
    cohosts: list[Organization]
    agreement_ids: list[int]
    starts_at: datetime
    requires_approval: bool
    currency: str
    #: (ticket id, audience, price, agreement id)
    tickets: list[tuple[int, str, int, int | None]] = field(default_factory=list)
    #: (question id, kind, option values)
    questions: list[tuple[int, str, list[str]]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    capacity: int = 100

    @property
    def registrations(self) -> int:
        return sum(self.statuses.values())


@dataclass
class Context:
    conn: psycopg.Connection[Any]
    rng: random.Random
    scale: Scale
    #: Midnight UTC of the day the data is "now" for; every time is relative to it.
    now: datetime
    password_hash: str
    organizations: dict[str, Organization] = field(default_factory=dict)
    #: partner organization id → (agreement id, slug)
    agreements: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: Per person index (id = index + 1): home organization slug and whether Japanese.
    homes: list[str] = field(default_factory=list)
    japanese: list[bool] = field(default_factory=list)
    person_created: list[datetime] = field(default_factory=list)
    #: Special people by role: index into the people lists.
    special: dict[str, int] = field(default_factory=dict)
    #: Verified memberships: LINK-J members; a partner organization id per person (0: none).
    linkj_member: list[bool] = field(default_factory=list)
    partner_member: list[int] = field(default_factory=list)
    #: (membership id, person index, organization id) of verified memberships.
    verified: list[tuple[int, int, int]] = field(default_factory=list)
    events: list[EventPlan] = field(default_factory=list)
    burst_people: list[int] = field(default_factory=list)
    #: (registration id, person id, price, currency, status, created, confirmed) of priced ones.
    priced_registrations: list[tuple[int, int, int, str, str, datetime, datetime | None]] = field(
        default_factory=list
    )
    notes: list[str] = field(default_factory=list)

    def person_id(self, index: int) -> int:
        return index + 1


def copy_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: str | Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """COPY rows into ``table`` (``columns``: names, or one string of them); returns how many."""
    if isinstance(columns, str):
        columns = columns.split()
    count = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def table_columns(conn: psycopg.Connection[Any], table: str) -> dict[str, bool]:
    """The table's columns, each with whether it may be left out (nullable or defaulted)."""
    return {
        name: nullable == "YES" or default is not None
        for name, nullable, default in conn.execute(
            "SELECT column_name, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
    }


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return start
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def _code(rng: random.Random, number: int) -> str:
    """A 20-character ticket code, unique because it starts with ``number`` in base 32."""
    prefix = ""
    for _ in range(6):
        number, digit = divmod(number, 32)
        prefix += CODE_ALPHABET[digit]
    return prefix + "".join(rng.choices(CODE_ALPHABET, k=14))


# --- the steps --------------------------------------------------------------------------------


def load_network(ctx: Context) -> int:
    """Read what ``seed_network`` created: organizations and their MOUs with LINK-J."""
    with ctx.conn.cursor() as cursor:
        for row in cursor.execute(
            "SELECT id, slug, kind, timezone, default_currency FROM organization ORDER BY id"
        ):
            ctx.organizations[row[1]] = Organization(*row)
        for agreement_id, slug, partner_id in cursor.execute(
            "SELECT id, slug, partner_id FROM agreement ORDER BY signed_on, id"
        ):
            ctx.agreements.setdefault(partner_id, (agreement_id, slug))
    return len(ctx.organizations)


def plan_people(ctx: Context) -> None:
    """Who exists: the special people first (fixed addresses), then everyone else."""
    rng = ctx.rng
    special = [
        ("member", "biocom"),
        ("queue_admin", "biocom"),
        ("staff", "link-j"),
        ("root", "link-j"),
        *((f"admin_{slug}", slug) for slug in HOME_WEIGHTS if slug not in ("link-j", QUEUE_ORG)),
    ]
    slugs = list(HOME_WEIGHTS)
    weights = list(HOME_WEIGHTS.values())
    start = ctx.now - timedelta(days=6 * 365)
    for index in range(ctx.scale.people):
        if index < len(special):
            role, home = special[index]
            ctx.special[role] = index
        else:
            home = rng.choices(slugs, weights)[0]
        ctx.homes.append(home)
        ctx.japanese.append(home in JAPANESE_HOMES or rng.random() < 0.1)
        ctx.person_created.append(_between(rng, start, ctx.now - timedelta(days=1)))


def _special_email(role: str) -> str:
    return {
        "member": MEMBER_EMAIL,
        "queue_admin": ADMIN_EMAIL,
        "staff": STAFF_EMAIL,
        "root": ROOT_EMAIL,
    }.get(role) or f"admin.{role.removeprefix('admin_')}@{DOMAIN}"


def _person_row(
    ctx: Context, index: int, email: str | None, created: datetime, *, confirmed: bool = False
) -> tuple:
    rng = ctx.rng
    japanese = ctx.japanese[index] if index < len(ctx.japanese) else rng.random() < 0.5
    if japanese:
        family, family_kana, family_latin = rng.choice(FAMILY_JA)
        given, given_kana, given_latin = rng.choice(GIVEN_JA)
        locale = "ja"
    else:
        family = family_latin = rng.choice(FAMILY_EN)
        given = given_latin = rng.choice(GIVEN_EN)
        family_kana = given_kana = ""
        locale = "en"
    email = email or f"{given_latin}.{family_latin}.{index + 1}@{DOMAIN}".lower()
    confirmed_at = None
    if confirmed or rng.random() < 0.97:
        confirmed_at = created + timedelta(minutes=rng.randint(1, 600))
    return (
        ctx.person_id(index),
        email,
        email.lower(),
        confirmed_at,
        ctx.password_hash,
        family,
        given,
        family_kana,
        given_kana,
        f"{given_latin} {family_latin}",
        rng.choice(AFFILIATIONS),
        locale,
        1,
        created,
        created,
    )


PERSON_COLUMNS = (
    "id email email_normalized email_confirmed_at password_hash family_name given_name "
    "family_name_kana given_name_kana romanized_name affiliation preferred_locale session_version "
    "created_at updated_at"
)


def fill_people(ctx: Context) -> int:
    """The network's people, and the burst's extra people (no membership) after them."""
    plan_people(ctx)
    role_of = {index: role for role, index in ctx.special.items()}

    def rows() -> Iterator[tuple]:
        for index in range(ctx.scale.people):
            role = role_of.get(index)
            if role is None:
                yield _person_row(ctx, index, None, ctx.person_created[index])
                continue
            ctx.person_created[index] = ctx.now - timedelta(days=900)
            yield _person_row(
                ctx, index, _special_email(role), ctx.person_created[index], confirmed=True
            )
        for number in range(ctx.scale.burst_people):
            index = ctx.scale.people + number
            ctx.burst_people.append(index)
            yield _person_row(
                ctx, index, BURST_EMAIL.format(number), ctx.now - timedelta(days=30), confirmed=True
            )

    return copy_rows(ctx.conn, "person", PERSON_COLUMNS, rows())


def fill_roles(ctx: Context) -> int:
    """Partner admins of each partner, staff and an admin of LINK-J."""
    orgs = ctx.organizations
    rows = []
    for role, index in ctx.special.items():
        person_id = ctx.person_id(index)
        if role == "queue_admin":
            rows.append((person_id, "partner_admin", orgs[QUEUE_ORG].id))
        elif role.startswith("admin_"):
            rows.append((person_id, "partner_admin", orgs[role.removeprefix("admin_")].id))
        elif role == "staff":
            rows.append((person_id, "staff", None))
        elif role == "root":
            rows.append((person_id, "admin", None))
    granted = ctx.now - timedelta(days=800)
    return copy_rows(
        ctx.conn,
        "role_grant",
        ("person_id", "role", "organization_id", "granted_at"),
        [(*row, granted) for row in rows],
    )


def _decider(ctx: Context, slug: str) -> int:
    role = (
        "staff" if slug == "link-j" else ("queue_admin" if slug == QUEUE_ORG else f"admin_{slug}")
    )
    return ctx.person_id(ctx.special[role])


def fill_memberships(ctx: Context) -> int:
    """One membership per person, a second one for some; the queue organization's pending
    claims; the rest mostly verified, some expired, rejected or revoked."""
    rng, scale, orgs = ctx.rng, ctx.scale, ctx.organizations
    people = scale.people
    first = len(ctx.special)
    pairs: list[tuple[int, str]] = [
        (ctx.special["member"], QUEUE_ORG),
        (ctx.special["staff"], "link-j"),
    ]
    pairs += [(index, ctx.homes[index]) for index in range(first, people)]
    slugs = list(HOME_WEIGHTS)
    weights = list(HOME_WEIGHTS.values())
    second = max(0, min(scale.memberships - len(pairs), people - first))
    for index in rng.sample(range(first, people), second):
        while (slug := rng.choices(slugs, weights)[0]) == ctx.homes[index]:
            pass
        pairs.append((index, slug))
    pairs.sort()

    queue = [n for n, (index, slug) in enumerate(pairs) if slug == QUEUE_ORG and index >= first]
    pending = set(rng.sample(queue, min(scale.pending, len(queue) // 2)))
    if len(pending) < scale.pending:
        ctx.notes.append(f"only {len(pending):,} pending claims: too few {QUEUE_ORG} memberships")

    ctx.linkj_member = [False] * people
    ctx.partner_member = [0] * people
    today = ctx.now.date()

    def rows() -> Iterator[tuple]:
        for number, (index, slug) in enumerate(pairs):
            membership_id = number + 1
            organization = orgs[slug]
            joined = ctx.person_created[index] + timedelta(days=rng.uniform(0, 30))
            joined = min(joined, ctx.now - timedelta(hours=1))
            valid_until = decided = decider = verified_via = None
            reason = ""
            if number in pending:
                status = "pending"
                joined = max(joined, ctx.now - timedelta(days=rng.uniform(1, 365)))
            elif index < first:
                status = "verified"
            else:
                status = rng.choices(
                    ("verified", "expired", "rejected", "revoked"), (82, 10, 4, 4)
                )[0]
            if status != "pending":
                decided = min(joined + timedelta(days=rng.uniform(0.1, 10)), ctx.now)
                decider = _decider(ctx, slug)
            if status == "verified":
                valid_until = today + timedelta(days=rng.randint(30, 700))
                verified_via = rng.choices(("manual", "roster", "domain_rule"), (60, 30, 10))[0]
                ctx.verified.append((membership_id, index, organization.id))
                if organization.kind == "hub":
                    ctx.linkj_member[index] = True
                elif not ctx.partner_member[index]:
                    ctx.partner_member[index] = organization.id
            elif status == "expired":
                valid_until = today - timedelta(days=rng.randint(1, 1500))
                verified_via = "manual"
            elif status in ("rejected", "revoked"):
                reason = "Not on our member list." if status == "rejected" else "Left the company."
            yield (
                membership_id,
                ctx.person_id(index),
                organization.id,
                "individual",
                f"{slug.upper()[:3]}-{membership_id:06d}",
                status,
                valid_until,
                verified_via,
                decider,
                decided,
                reason,
                joined,
                decided or joined,
            )

    return copy_rows(
        ctx.conn,
        "membership",
        (
            "id person_id organization_id kind member_number status valid_until verified_via "
            "decided_by_id decided_at decision_reason created_at updated_at"
        ),
        rows(),
    )


def _plan_statuses(ctx: Context, event: EventPlan, count: int) -> dict[str, int]:
    """How many registrations of each state an event of this kind and age has."""
    rng = ctx.rng
    if event.status == "cancelled":
        return {"cancelled": count}
    cancelled = round(count * rng.uniform(0.04, 0.15))
    rest = count - cancelled
    statuses = {"cancelled": cancelled}
    if event.starts_at < ctx.now:
        rejected = round(rest * 0.05) if event.requires_approval else 0
        checked_in = round((rest - rejected) * rng.uniform(0.65, 0.85))
        statuses |= {
            "rejected": rejected,
            "checked_in": checked_in,
            "confirmed": rest - rejected - checked_in,
        }
    else:
        pending = round(rest * 0.3) if event.requires_approval else 0
        priced = any(price for _id, _aud, price, _agr in event.tickets)
        awaiting = round(rest * 0.04) if priced else 0
        waitlisted = round(rest * 0.05) if rng.random() < 0.2 else 0
        statuses |= {
            "pending_approval": pending,
            "awaiting_payment": awaiting,
            "waitlisted": waitlisted,
            "confirmed": rest - pending - awaiting - waitlisted,
        }
    return {status: n for status, n in statuses.items() if n > 0}


def _capacity(ctx: Context, statuses: dict[str, int]) -> int:
    held = sum(statuses.get(s, 0) for s in ("awaiting_payment", "confirmed", "checked_in"))
    if statuses.get("waitlisted"):
        return max(held, 1)
    return max(held + round(held * ctx.rng.uniform(0.05, 0.4)), 10)


def plan_events(ctx: Context) -> None:
    """Events over six years (a few months ahead), hosted by LINK-J or a partner, with
    ticket types per audience, and how many registrations each has in which state."""
    rng, scale, orgs = ctx.rng, ctx.scale, ctx.organizations
    partners = [o for o in orgs.values() if o.kind == "partner"]
    hub = orgs["link-j"]
    ticket_id = question_id = 0
    regular = scale.events - 2
    for number in range(scale.events):
        event_id = number + 1
        if number == regular:
            starts = ctx.now + timedelta(days=21, hours=1)
            host, cohosts, slug = hub, [orgs[QUEUE_ORG]], BIG_EVENT_SLUG
            kind, visibility, status, approval = "forum", "public", "published", False
        elif number == regular + 1:
            starts = ctx.now + timedelta(days=14, hours=1)
            host, cohosts, slug = hub, [], BURST_EVENT_SLUG
            kind, visibility, status, approval = "seminar", "public", "published", False
        else:
            starts = ctx.now + timedelta(days=rng.uniform(-2000, 180))
            starts = starts.replace(minute=0, second=0, microsecond=0)
            host = hub if rng.random() < 0.5 else rng.choice(partners)
            cohosts = []
            if rng.random() < 0.2:
                cohosts = [rng.choice(partners)] if host is hub else [hub]
            kind = rng.choice(KINDS)[0]
            visibility = rng.choices(("public", "network", "linkj"), (60, 25, 15))[0]
            if starts < ctx.now:
                status = rng.choices(("published", "cancelled"), (96, 4))[0]
            else:
                status = rng.choices(("published", "draft", "cancelled"), (85, 10, 5))[0]
            approval = rng.random() < 0.05
            slug = f"{kind.replace('_', '-')}-{starts.year}-{event_id:05d}"
        partner_ids = [o.id for o in (host, *cohosts) if o.kind == "partner"]
        agreement_ids = [ctx.agreements[p][0] for p in partner_ids if p in ctx.agreements]
        if not agreement_ids and rng.random() < 0.3:
            agreement_ids = [rng.choice(list(ctx.agreements.values()))[0]]
        event = EventPlan(
            id=event_id,
            slug=slug,
            kind=kind,
            status=status,
            visibility=visibility,
            host=host,
            cohosts=cohosts,
            agreement_ids=sorted(set(agreement_ids)),
            starts_at=starts,
            requires_approval=approval,
            currency=host.currency,
        )
        if slug == BURST_EVENT_SLUG:
            prices = {"linkj_member": 0, "partner_member": 0, "non_member": 0}
        elif slug == BIG_EVENT_SLUG:
            prices = {"linkj_member": 0, "partner_member": 5000, "non_member": 15000}
        else:
            # JPY in yen, other currencies in cents: 5000 is ¥5,000 or $50.00.
            prices = {
                "linkj_member": rng.choice((0, 0, 3000)),
                "partner_member": rng.choice((0, 3000, 5000)),
                "non_member": rng.choice((0, 5000, 10000)),
            }
            if rng.random() < 0.1:
                prices["student"] = 1000
        for audience, price in prices.items():
            ticket_id += 1
            event.tickets.append((ticket_id, audience, price, None))
        if slug == BIG_EVENT_SLUG or (slug != BURST_EVENT_SLUG and rng.random() < 0.3):
            question_id += 1
            event.questions.append((question_id, "text", []))
            if slug == BIG_EVENT_SLUG or rng.random() < 0.4:
                question_id += 1
                event.questions.append(
                    (question_id, "single", ["newsletter", "colleague", "partner", "web"])
                )
        ctx.events.append(event)

    # Registrations: the popular forum's 2,000; none yet for the burst; the rest spread
    # unevenly over the events people could register for.
    big, burst = ctx.events[regular], ctx.events[regular + 1]
    big.statuses = {
        "cancelled": round(scale.big_event * 0.03),
        "awaiting_payment": round(scale.big_event * 0.025),
    }
    big.statuses["confirmed"] = scale.big_event - sum(big.statuses.values())
    big.capacity = max(round(scale.big_event * 1.25), 1)
    burst.capacity = scale.burst_seats
    eligible = [e for e in ctx.events[:regular] if e.status != "draft"]
    weights = [rng.lognormvariate(0, 0.7) for _ in eligible]
    total = sum(weights)
    rest = max(scale.registrations - scale.big_event, 0)
    counts = [math.floor(w / total * rest) for w in weights]
    for n in range(rest - sum(counts)):
        counts[n % len(counts)] += 1
    pool_limit = max(scale.people // 4, 1)
    for event, count in zip(eligible, counts, strict=True):
        event.statuses = _plan_statuses(ctx, event, min(count, pool_limit))
    for event in ctx.events:
        if event is not big and event is not burst:
            event.capacity = _capacity(ctx, event.statuses)


def _title(event: EventPlan) -> tuple[str, str]:
    topic_en, topic_ja = TOPICS[event.id % len(TOPICS)]
    kind_en, kind_ja = next((en, ja) for k, en, ja in KINDS if k == event.kind)
    if event.slug == BIG_EVENT_SLUG:
        return ("LINK-J International Forum (benchmark)", "LINK-J国際フォーラム(ベンチマーク)")
    if event.slug == BURST_EVENT_SLUG:
        return ("Registration burst (benchmark)", "登録集中(ベンチマーク)")
    year = event.starts_at.year
    return (f"{topic_en} {kind_en} {year}", f"{topic_ja}{kind_ja} {year}")


def fill_events(ctx: Context) -> int:
    """Events, their ticket types, questions, sessions, co-hosts and MOUs."""
    plan_events(ctx)
    rng = ctx.rng
    staff_id = ctx.person_id(ctx.special["staff"])
    audience_names = {
        "linkj_member": ("LINK-J member", "LINK-J会員"),
        "partner_member": ("Partner member", "提携機関会員"),
        "non_member": ("General", "一般"),
        "student": ("Student", "学生"),
    }

    def events() -> Iterator[tuple]:
        for e in ctx.events:
            title_en, title_ja = _title(e)
            topic_en, topic_ja = TOPICS[e.id % len(TOPICS)]
            created = e.starts_at - timedelta(days=rng.uniform(45, 120))
            row: tuple = (
                e.id,
                e.slug,
                e.kind,
                e.status,
                title_en,
                title_ja,
                DESCRIPTION_EN.format(topic=topic_en),
                DESCRIPTION_JA.format(topic=topic_ja),
                rng.choices(("ja", "en", "both"), (40, 20, 40))[0],
                e.host.id,
                "Nihonbashi Life Science Building",
                "日本橋ライフサイエンスビルディング",
                e.host.timezone,
                e.starts_at,
                e.starts_at + timedelta(hours=rng.choice((2, 3, 4, 8))),
                min(created, ctx.now - timedelta(days=1)),
                e.capacity,
                e.visibility,
                e.requires_approval,
                24,
                staff_id,
                created,
                created,
            )
            if local_date:
                row += (e.starts_at.astimezone(ZoneInfo(e.host.timezone)).date(),)
            yield row

    # The model keeps the local start date in a column (a before_insert hook COPY skips).
    local_date = "starts_on_local" in table_columns(ctx.conn, "event")
    count = copy_rows(
        ctx.conn,
        "event",
        (
            "id slug kind status title_en title_ja description_en description_ja language host_id "
            "venue_en venue_ja timezone starts_at ends_at registration_opens_at capacity "
            "visibility requires_approval reminder_hours_before created_by_id created_at "
            "updated_at" + (" starts_on_local" if local_date else "")
        ),
        events(),
    )
    copy_rows(
        ctx.conn,
        "ticket_type",
        "id event_id audience name_en name_ja price currency position active tax_rate",
        (
            (
                ticket_id,
                e.id,
                audience,
                *audience_names[audience],
                price,
                e.currency,
                position,
                True,
                10 if price and e.currency == "JPY" else 0,
            )
            for e in ctx.events
            for position, (ticket_id, audience, price, _agr) in enumerate(e.tickets)
        ),
    )
    options = json.dumps
    copy_rows(
        ctx.conn,
        "question",
        ("id", "event_id", "kind", "label_en", "label_ja", "required", "options", "position"),
        (
            (
                question_id,
                e.id,
                kind,
                "Dietary requirements" if kind == "text" else "How did you hear of this event?",
                "食事の配慮" if kind == "text" else "このイベントを何で知りましたか?",
                kind != "text",
                options([{"value": v, "label_en": v.title(), "label_ja": v} for v in values]),
                position,
            )
            for e in ctx.events
            for position, (question_id, kind, values) in enumerate(e.questions)
        ),
    )
    copy_rows(
        ctx.conn,
        "event_session",
        ("event_id", "title_en", "title_ja", "starts_at", "ends_at", "room"),
        (
            (e.id, f"Part {n + 1}", f"第{n + 1}部", start, start + timedelta(hours=1), "Hall A")
            for e in ctx.events
            if e.id % 7 == 0
            for n, start in enumerate(e.starts_at + timedelta(hours=h) for h in range(2))
        ),
    )
    copy_rows(
        ctx.conn,
        "event_cohost",
        ("event_id", "organization_id"),
        ((e.id, o.id) for e in ctx.events for o in e.cohosts),
    )
    copy_rows(
        ctx.conn,
        "event_agreement",
        ("event_id", "agreement_id"),
        ((e.id, a) for e in ctx.events for a in e.agreement_ids),
    )
    return count


def _reasons(ctx: Context, event: EventPlan) -> Callable[[int], tuple[int, int, str]]:
    """For a person index: (ticket id, price, price reason) as ``pricing.offers_for`` would give."""
    tickets = {audience: (ticket_id, price) for ticket_id, audience, price, _a in event.tickets}
    agreement_partners = {
        partner_id
        for partner_id, (agreement_id, _slug) in ctx.agreements.items()
        if agreement_id in event.agreement_ids
    }
    linkj = json.dumps({"audience": "linkj_member", "organization": "link-j"})
    general = json.dumps({"audience": "non_member"})
    slugs = {o.id: o.slug for o in ctx.organizations.values()}
    by_partner = {
        partner_id: json.dumps(
            {
                "audience": "partner_member",
                "organization": slugs[partner_id],
                "agreement": slug,
            }
        )
        for partner_id, (_id, slug) in ctx.agreements.items()
    }

    def choose(index: int) -> tuple[int, int, str]:
        if ctx.linkj_member[index] and "linkj_member" in tickets:
            return (*tickets["linkj_member"], linkj)
        partner = ctx.partner_member[index]
        if (
            partner
            and "partner_member" in tickets
            and (not agreement_partners or partner in agreement_partners)
        ):
            return (*tickets["partner_member"], by_partner[partner])
        return (*tickets["non_member"], general)

    return choose


def fill_registrations(ctx: Context) -> int:
    """Each event's registrations, by people it is visible to, in the planned states."""
    rng, now = ctx.rng, ctx.now
    people = ctx.scale.people
    everyone = list(range(len(ctx.special), people))
    network = [i for i in everyone if ctx.linkj_member[i] or ctx.partner_member[i]]
    linkj = [i for i in everyone if ctx.linkj_member[i]]
    pools = {"public": everyone, "network": network or everyone, "linkj": linkj or everyone}
    member = ctx.special["member"]
    # The member's own history: a dozen past public events.
    past_public = [
        e.id
        for e in ctx.events
        if e.starts_at < now and e.visibility == "public" and e.status == "published"
        if e.registrations
    ]
    member_events = set(rng.sample(past_public, min(12, len(past_public))))
    answers_text = ["", "Vegetarian", "No pork", "Halal", ""]
    registration_id = 0

    def rows() -> Iterator[tuple]:
        nonlocal registration_id
        for e in ctx.events:
            count = e.registrations
            if not count:
                continue
            pool = pools[e.visibility]
            chosen = rng.sample(pool, min(count, len(pool)))
            if e.id in member_events and member not in chosen:
                chosen[0] = member
            statuses = [s for s, n in e.statuses.items() for _ in range(n)][: len(chosen)]
            rng.shuffle(statuses)
            choose = _reasons(ctx, e)
            last = min(e.starts_at - timedelta(hours=1), now - timedelta(minutes=30))
            opens = min(e.starts_at - timedelta(days=45), last - timedelta(days=1))
            for index, status in zip(chosen, statuses, strict=True):
                registration_id += 1
                ticket_id, price, reason = choose(index)
                if status == "awaiting_payment" and not price:
                    status = "confirmed"
                created = _between(rng, opens, last)
                confirmed = checked_in = cancelled = hold = reminded = None
                if status in ("confirmed", "checked_in"):
                    confirmed = created + timedelta(minutes=3 if price else 0)
                if status == "checked_in":
                    checked_in = e.starts_at + timedelta(minutes=rng.uniform(-15, 60))
                if status == "cancelled":
                    cancelled = _between(rng, created, min(e.starts_at, now))
                if status == "awaiting_payment":
                    hold = created + timedelta(minutes=30)
                if e.starts_at < now and status in ("confirmed", "checked_in"):
                    reminded = e.starts_at - timedelta(hours=24)
                answers = {}
                for question_id, kind, values in e.questions:
                    answers[str(question_id)] = (
                        rng.choice(values) if kind == "single" else rng.choice(answers_text)
                    )
                if price:
                    ctx.priced_registrations.append(
                        (
                            registration_id,
                            ctx.person_id(index),
                            price,
                            e.currency,
                            status,
                            created,
                            confirmed,
                        )
                    )
                yield (
                    registration_id,
                    e.id,
                    ctx.person_id(index),
                    ticket_id,
                    status,
                    price,
                    e.currency,
                    reason,
                    json.dumps(answers),
                    _code(rng, registration_id),
                    created,
                    confirmed,
                    hold,
                    cancelled,
                    "Seats are reserved for members." if status == "rejected" else "",
                    checked_in,
                    reminded,
                )

    return copy_rows(
        ctx.conn,
        "registration",
        (
            "id event_id person_id ticket_type_id status price currency price_reason answers code "
            "created_at confirmed_at hold_expires_at cancelled_at decision_reason checked_in_at "
            "reminder_sent_at"
        ),
        rows(),
    )


def fill_payments(ctx: Context) -> int:
    """Card payments of the priced registrations: paid, pending for held seats, some refunded."""
    rng = ctx.rng

    def rows() -> Iterator[tuple]:
        for (
            reg_id,
            person_id,
            price,
            currency,
            status,
            created,
            confirmed,
        ) in ctx.priced_registrations:
            if status in ("confirmed", "checked_in"):
                state, paid, refunded = "paid", confirmed, 0
            elif status == "awaiting_payment":
                state, paid, refunded = "pending", None, 0
            elif status == "cancelled" and rng.random() < 0.5:
                state, paid, refunded = "refunded", created + timedelta(minutes=3), price
            else:
                continue
            yield (
                reg_id,
                person_id,
                "card",
                state,
                price,
                currency,
                refunded,
                f"pi_bench{reg_id:010d}",
                1,
                paid,
                "",
                created,
                paid or created,
            )

    return copy_rows(
        ctx.conn,
        "payment",
        (
            "registration_id person_id method status amount currency refunded_amount "
            "stripe_payment_intent_id attempt paid_at failure_reason created_at updated_at"
        ),
        rows(),
    )


CLAIM_COLUMNS = (
    "service_id person_id membership_id status decided_by_id decided_at decision_note code "
    "cancelled_at fulfilled_at created_at updated_at period slot"
)


def fill_benefit_claims(ctx: Context) -> int:
    """Claims by verified members on the services their MOUs open, if the schema has them."""
    columns = table_columns(ctx.conn, "benefit_claim")
    with ctx.conn.cursor() as cursor:
        if not columns:
            ctx.notes.append(
                "benefit_claim: no such table in this schema (the benefits area is not "
                "migrated here); no claims created"
            )
            return 0
        unknown = [
            c for c, optional in columns.items() if not optional and c not in CLAIM_COLUMNS.split()
        ]
        if unknown:
            ctx.notes.append(f"benefit_claim: unknown required columns {unknown}; none created")
            return 0
        services: dict[int, list[int]] = {}
        for service_id, beneficiary_id in cursor.execute(
            "SELECT id, beneficiary_id FROM reciprocal_service WHERE claimable ORDER BY id"
        ):
            services.setdefault(beneficiary_id, []).append(service_id)
    eligible = [v for v in ctx.verified if v[2] in services]
    if not eligible:
        ctx.notes.append("benefit_claim: no claimable service for verified members; none created")
        return 0
    ctx.notes.append(
        f"benefit_claim: found in the schema; claims by verified members on "
        f"{sum(map(len, services.values()))} claimable services"
    )
    rng, now = ctx.rng, ctx.now
    used = [c for c in CLAIM_COLUMNS.split() if c in columns]
    open_claims: set[tuple[int, int]] = set()
    # Live claims take distinct places (the schema's unique index on person, service, period
    # and slot); a bench member may hold more than the allowance, as history can.
    places: dict[tuple[int, int], int] = {}

    def rows() -> Iterator[tuple]:
        for _n in range(ctx.scale.claims):
            membership_id, index, organization_id = rng.choice(eligible)
            service_id = rng.choice(services[organization_id])
            person_id = ctx.person_id(index)
            status = rng.choices(
                ("fulfilled", "approved", "requested", "rejected", "cancelled"), (50, 25, 10, 8, 7)
            )[0]
            if status == "requested":
                if (person_id, service_id) in open_claims:
                    status = "fulfilled"
                else:
                    open_claims.add((person_id, service_id))
            created = _between(rng, ctx.person_created[index], now - timedelta(hours=1))
            decided = (
                min(created + timedelta(days=rng.uniform(0.1, 5)), now)
                if status not in ("requested", "cancelled")
                else None
            )
            values = {
                "service_id": service_id,
                "person_id": person_id,
                "membership_id": membership_id,
                "status": status,
                "decided_by_id": None,
                "decided_at": decided,
                "decision_note": "Outside the offer's terms." if status == "rejected" else "",
                "code": None,
                "cancelled_at": created + timedelta(days=1) if status == "cancelled" else None,
                "fulfilled_at": decided if status == "fulfilled" else None,
                "created_at": created,
                "updated_at": decided or created,
                "period": "ever",
                "slot": 1,
            }
            if status in ("requested", "approved", "fulfilled"):
                values["slot"] = places[(person_id, service_id)] = (
                    places.get((person_id, service_id), 0) + 1
                )
            yield tuple(values[c] for c in used)

    return copy_rows(ctx.conn, "benefit_claim", used, rows())


#: In order: each step COPYs one entity (and what belongs to it), reading the plans before it.
STEPS: list[tuple[str, Callable[[Context], int]]] = [
    ("people", fill_people),
    ("role grants", fill_roles),
    ("memberships", fill_memberships),
    ("events (+ tickets, questions)", fill_events),
    ("registrations", fill_registrations),
    ("payments", fill_payments),
    ("benefit claims", fill_benefit_claims),
]

#: Tables whose ids the fill chose: their sequences continue after the largest id.
EXPLICIT_IDS = ("person", "membership", "event", "ticket_type", "question", "registration")


# --- what bench.run needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Handles:
    member_id: int
    admin_id: int
    staff_id: int
    queue_org: str
    pending: int
    big_event_id: int
    big_event_slug: str
    big_event_registrations: int
    burst_event_id: int
    burst_event_slug: str
    burst_seats: int
    burst_ticket_type_id: int
    burst_people: list[int]
    #: person id → session version, for Flask-Login's "<id>:<version>".
    session_versions: dict[int, int]


def load_handles(conn: psycopg.Connection[Any]) -> Handles:
    """The benchmark's people and events, found by their fixed addresses and slugs."""
    with conn.cursor() as cursor:

        def person(email: str) -> int:
            row = cursor.execute(
                "SELECT id FROM person WHERE email_normalized = %s", (email,)
            ).fetchone()
            if row is None:
                raise SystemExit(f"{email} not found: fill the database with bench.fill first")
            return int(row[0])

        def event(slug: str) -> tuple[int, int]:
            row = cursor.execute(
                "SELECT id, capacity FROM event WHERE slug = %s", (slug,)
            ).fetchone()
            if row is None:
                raise SystemExit(f"event {slug} not found: fill the database with bench.fill first")
            return int(row[0]), int(row[1])

        big_id, _capacity = event(BIG_EVENT_SLUG)
        burst_id, seats = event(BURST_EVENT_SLUG)
        burst_ticket = cursor.execute(
            "SELECT id FROM ticket_type WHERE event_id = %s AND audience = 'non_member'",
            (burst_id,),
        ).fetchone()
        burst_people = [
            int(r[0])
            for r in cursor.execute(
                "SELECT id FROM person WHERE email_normalized LIKE %s ORDER BY id",
                (BURST_EMAIL.format(0).replace("000", "%"),),
            )
        ]
        pending = cursor.execute(
            "SELECT count(*) FROM membership m JOIN organization o ON o.id = m.organization_id "
            "WHERE o.slug = %s AND m.status = 'pending'",
            (QUEUE_ORG,),
        ).fetchone()
        big_registrations = cursor.execute(
            "SELECT count(*) FROM registration WHERE event_id = %s", (big_id,)
        ).fetchone()
        ids = [person(MEMBER_EMAIL), person(ADMIN_EMAIL), person(STAFF_EMAIL)]
        versions = dict(
            cursor.execute(
                "SELECT id, session_version FROM person WHERE id = ANY(%s)", (ids + burst_people,)
            ).fetchall()
        )
    assert burst_ticket is not None and pending is not None and big_registrations is not None
    return Handles(
        member_id=ids[0],
        admin_id=ids[1],
        staff_id=ids[2],
        queue_org=QUEUE_ORG,
        pending=int(pending[0]),
        big_event_id=big_id,
        big_event_slug=BIG_EVENT_SLUG,
        big_event_registrations=int(big_registrations[0]),
        burst_event_id=burst_id,
        burst_event_slug=BURST_EVENT_SLUG,
        burst_seats=seats,
        burst_ticket_type_id=int(burst_ticket[0]),
        burst_people=burst_people,
        session_versions=versions,
    )


# --- the command ------------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` (SQLAlchemy's spelling) → ``postgresql://`` (libpq's)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def migrate_and_seed(database_url: str) -> None:
    """Build the schema as ``portal db upgrade`` does, then load the network."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.organizations.services import seed_network

    app = create_app({"SQLALCHEMY_DATABASE_URI": libpq_url(database_url)})
    with app.app_context():
        upgrade()
        seed_network()
        db.session.remove()
        db.engine.dispose()


def fill(database_url: str, *, scale: Scale, seed: int, today: date) -> Context:
    """Migrate, seed and fill; prints each step's rows and seconds. Returns the context."""
    from portal.accounts.passwords import hash_password

    started = time.perf_counter()
    migrate_and_seed(database_url)
    print(f"{'schema and network':<32} {'':>9}       {time.perf_counter() - started:6.1f} s")
    with psycopg.connect(libpq_url(database_url)) as conn:
        people = conn.execute("SELECT count(*) FROM person").fetchone()
        if people and people[0]:
            raise SystemExit(
                f"the database already has {people[0]:,} people: fill a fresh database "
                "(createdb …) so the figures mean the same thing every time"
            )
        ctx = Context(
            conn=conn,
            rng=random.Random(seed),
            scale=scale,
            now=datetime(today.year, today.month, today.day, tzinfo=UTC),
            password_hash=hash_password(PASSWORD),
        )
        load_network(ctx)
        for name, step in STEPS:
            began = time.perf_counter()
            count = step(ctx)
            conn.commit()
            print(f"{name:<32} {count:>9,} rows  {time.perf_counter() - began:6.1f} s")
        for table in EXPLICIT_IDS:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        conn.commit()
    began = time.perf_counter()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # As after months of autovacuum: statistics for the planner, visibility map set.
        conn.execute("VACUUM (ANALYZE)")
    print(f"{'vacuum and analyze':<32} {'':>9}       {time.perf_counter() - began:6.1f} s")
    print(f"{'total':<32} {'':>9}       {time.perf_counter() - started:6.1f} s")
    return ctx


def _scalar(conn: psycopg.Connection[Any], sql: str, params: tuple = ()) -> Any:
    row = conn.execute(sql, params).fetchone()  # type: ignore[call-overload]
    return row[0] if row else None


def report(database_url: str, ctx: Context) -> None:
    tables = ["organization", "person", "membership", "event", "ticket_type", "registration"]
    tables += ["payment", "benefit_claim"]
    with psycopg.connect(libpq_url(database_url)) as conn:
        counts = {
            table: _scalar(conn, f"SELECT count(*) FROM {table}")  # noqa: S608 - our names
            for table in tables
            if _scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,))
        }
        pending = conn.execute(
            "SELECT o.slug, count(*) FROM membership m "
            "JOIN organization o ON o.id = m.organization_id "
            "WHERE m.status = 'pending' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        size = _scalar(conn, "SELECT pg_size_pretty(pg_database_size(current_database()))")
        handles = load_handles(conn)
    print("\nRows:")
    for table, count in counts.items():
        print(f"  {table:<16} {count:>9,}")
    print(f"  pending memberships: {', '.join(f'{slug} {n:,}' for slug, n in pending)}")
    print(f"  database size: {size}")
    for note in ctx.notes:
        print(f"  note: {note}")
    org = QUEUE_ORG.upper()
    print(f"\nFor bench.run (every person's password: {PASSWORD}):")
    print(f"  verified {org} member   {MEMBER_EMAIL:<28} person {handles.member_id}")
    print(
        f"  {org} partner admin     {ADMIN_EMAIL:<28} person {handles.admin_id}"
        f" ({handles.pending:,} pending at /admin/organizations/{QUEUE_ORG}/memberships)"
    )
    print(f"  staff                    {STAFF_EMAIL:<28} person {handles.staff_id}")
    print(
        f"  popular forum            /events/{handles.big_event_slug:<21}event "
        f"{handles.big_event_id} ({handles.big_event_registrations:,} registrations)"
    )
    print(
        f"  burst event              /events/{handles.burst_event_slug:<21}event "
        f"{handles.burst_event_id} ({handles.burst_seats} seats, ticket type "
        f"{handles.burst_ticket_type_id}; {len(handles.burst_people)} people "
        f"{BURST_EMAIL.format(0)}…)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fill", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: the full network")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=datetime.now(UTC).date(),
        help="the day the data is current for (default: today, UTC)",
    )
    args = parser.parse_args(argv)
    if not libpq_url(args.database_url).startswith("postgresql://"):
        parser.error("--database-url must be a PostgreSQL URL (COPY is PostgreSQL's)")
    scale = Scale.of(args.scale)
    print(
        f"Filling at scale {args.scale}: {scale.people:,} people, {scale.memberships:,} "
        f"memberships ({scale.pending:,} pending), {scale.events:,} events, "
        f"{scale.registrations:,} registrations, {scale.claims:,} benefit claims; seed "
        f"{args.seed}, as of {args.today}\n"
    )
    ctx = fill(args.database_url, scale=scale, seed=args.seed, today=args.today)
    report(args.database_url, ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
