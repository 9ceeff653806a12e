"""Demo events for ``portal demo``: the joint activities the seed document records, as past
events, and upcoming joint events with each partner.

Idempotent by slug: an event that exists is left alone. Upcoming dates are relative to today,
so the demo always has upcoming events; the seed's two activities keep their own months
(October 2017, January 2018). Times are set on each event's own clock. Events are created and
published through the services, by a staff account (the demo's LINK-J staff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.accounts.models import Person, Role, RoleGrant
from portal.accounts.services import find_person_by_email
from portal.db import utcnow
from portal.events.models import Event
from portal.events.setup import (
    STANDARD_TAX_RATE,
    EventData,
    QuestionData,
    SessionData,
    TicketTypeData,
    publish_event,
    save_event,
)
from portal.extensions import db
from portal.organizations.models import Agreement, Organization

#: The demo's staff account (``portal.demo``); any staff member will do when it is missing.
DEMO_STAFF_EMAIL = "staff@link-j.example"


@dataclass
class DemoEvent:
    slug: str
    kind: str
    title_en: str
    title_ja: str
    host: str
    cohosts: tuple[str, ...]
    agreements: tuple[str, ...]
    timezone: str
    #: Days from today (a fixed ``on`` day instead for what happened), and the local times.
    in_days: int
    starts: time
    ends: time
    tickets: tuple[tuple[str, str, str, int, str], ...]
    description_en: str = ""
    description_ja: str = ""
    venue_en: str = ""
    venue_ja: str = ""
    online_url: str | None = None
    language: str = "both"
    visibility: str = "public"
    capacity: int = 100
    requires_approval: bool = False
    questions: list[QuestionData] = field(default_factory=list)
    #: (title_en, title_ja, local start, local end, room)
    sessions: tuple[tuple[str, str, time, time, str], ...] = ()
    note: str = ""
    #: The day it took place, for the seed's past activities.
    on: date | None = None


#: The seed document's joint activities (LINK-J press release, January 2018). It names the
#: months; the days are the demo's.
PAST_EVENTS = (
    DemoEvent(
        slug="regenerative-medicine-industrialisation-forum-2017",
        kind="forum",
        title_en="Regenerative Medicine Industrialisation Forum",
        title_ja="再生医療産業化フォーラム",
        host="kobe-city",
        cohosts=("ibri", "link-j"),
        agreements=(),  # before the LINK-J–IBRI MOU of January 2018
        timezone="Asia/Tokyo",
        in_days=0,
        on=date(2017, 10, 20),
        starts=time(13, 30),
        ends=time(17, 30),
        description_en=(
            "Hosted by Kobe City and co-hosted by IBRI and LINK-J in Nihonbashi: the Kobe "
            "Biomedical Innovation Cluster and Nihonbashi companies on bringing regenerative "
            "medicine to market."
        ),
        description_ja=(
            "神戸市主催、先端医療振興財団・LINK-J共催により日本橋で開催。神戸医療産業都市と日本橋の"
            "企業が、再生医療の産業化について議論しました。"
        ),
        venue_en="Nihonbashi, Tokyo",
        venue_ja="東京・日本橋",
        language="ja",
        tickets=(("non_member", "General", "一般", 0, "JPY"),),
        note="October 2017; Kobe City, IBRI and LINK-J",
    ),
    DemoEvent(
        slug="miller-montgomery-seminar-kobe-2018",
        kind="seminar",
        title_en="Seminar by Dr. Sandrine Miller-Montgomery (UC San Diego) in Kobe",
        title_ja="サンドリン・ミラー=モンゴメリー博士（カリフォルニア大学サンディエゴ校）セミナー（神戸）",
        host="link-j",
        cohosts=("ibri",),
        agreements=("link-j-ucsd-2016",),
        timezone="Asia/Tokyo",
        in_days=0,
        on=date(2018, 1, 26),
        starts=time(15, 0),
        ends=time(17, 0),
        description_en=(
            "Dr. Sandrine Miller-Montgomery of UC San Diego, LINK-J's partner, spoke in Kobe: "
            "one of the first exchanges of people and information between LINK-J and IBRI."
        ),
        description_ja=(
            "LINK-Jの提携先であるカリフォルニア大学サンディエゴ校のサンドリン・ミラー=モンゴメリー博士が"
            "神戸市で講演しました。LINK-Jと先端医療振興財団の人的交流・情報共有の始まりの一つです。"
        ),
        venue_en="Kobe",
        venue_ja="兵庫県神戸市",
        language="en",
        tickets=(("non_member", "General", "一般", 0, "JPY"),),
        note="January 2018; UC San Diego's speaker in Kobe",
    ),
)

DEMO_EVENTS = (
    DemoEvent(
        slug="kobe-nihonbashi-regenerative-medicine-seminar",
        kind="forum",
        title_en="Kobe–Nihonbashi Regenerative Medicine Business Forum",
        title_ja="神戸・日本橋 再生医療ビジネスフォーラム",
        host="ibri",
        cohosts=("link-j",),
        agreements=("link-j-ibri-2018",),
        timezone="Asia/Tokyo",
        in_days=21,
        starts=time(13, 30),
        ends=time(17, 30),
        description_en=(
            "Hosted by IBRI with LINK-J under their MOU: the Kobe Biomedical Innovation Cluster "
            "and Nihonbashi companies on bringing regenerative medicine to patients, following "
            "the forum of October 2017."
        ),
        description_ja=(
            "先端医療振興財団（IBRI）主催、LINK-J共催（覚書に基づく）。2017年10月のフォーラムに続き、"
            "神戸医療産業都市と日本橋の企業が再生医療の事業化について議論します。"
        ),
        venue_en="Nihonbashi Life Science Building, Tokyo",
        venue_ja="日本橋ライフサイエンスビルディング（東京）",
        capacity=120,
        tickets=(
            ("linkj_member", "LINK-J member", "LINK-J会員", 3000, "JPY"),
            (
                "partner_member",
                "IBRI / Kobe cluster member",
                "IBRI・神戸クラスター会員",
                3000,
                "JPY",
            ),
            ("non_member", "General", "一般", 8000, "JPY"),
            ("student", "Student", "学生", 1000, "JPY"),
        ),
        questions=[
            QuestionData(
                kind="single",
                label_en="Will you join the networking reception?",
                label_ja="交流会に参加されますか？",
                required=True,
                options=[
                    {"value": "yes", "label_en": "Yes", "label_ja": "参加する"},
                    {"value": "no", "label_en": "No", "label_ja": "参加しない"},
                ],
            ),
            QuestionData(kind="text", label_en="Your field", label_ja="ご専門の分野"),
        ],
        sessions=(
            ("Opening remarks", "開会挨拶", time(13, 30), time(13, 45), "Hall A"),
            (
                "Keynote: from the lab to the clinic",
                "基調講演",
                time(13, 45),
                time(14, 45),
                "Hall A",
            ),
            (
                "Panel: industrialising cell therapy",
                "パネル討論",
                time(15, 0),
                time(16, 30),
                "Hall A",
            ),
            ("Networking reception", "交流会", time(16, 30), time(17, 30), "Lounge"),
        ),
        note="paid, JPY; co-hosted by IBRI and LINK-J",
    ),
    DemoEvent(
        slug="biocom-san-diego-partnering-day",
        kind="networking",
        title_en="San Diego–Tokyo Life Science Partnering Day",
        title_ja="サンディエゴ・東京 ライフサイエンス パートナリングデー",
        host="biocom",
        cohosts=("link-j",),
        agreements=("link-j-biocom-2016",),
        timezone="America/Los_Angeles",
        in_days=35,
        starts=time(9, 0),
        ends=time(17, 0),
        description_en="One-to-one partnering between BIOCOM and LINK-J members.",
        description_ja="BIOCOM 会員と LINK-J 会員の個別パートナリング。",
        venue_en="BIOCOM Life Science Center, San Diego",
        venue_ja="BIOCOM ライフサイエンスセンター（サンディエゴ）",
        language="en",
        visibility="network",
        capacity=80,
        tickets=(
            ("partner_member", "BIOCOM member", "BIOCOM会員", 0, "USD"),
            ("linkj_member", "LINK-J member", "LINK-J会員", 0, "USD"),
        ),
        note="San Diego time; LINK-J and partner members",
    ),
    DemoEvent(
        slug="ucsd-invited-professor-seminar",
        kind="seminar",
        title_en="UCSD Invited Professor Seminar: Microbiome and Precision Health",
        title_ja="UCSD 招聘教授セミナー：マイクロバイオームと精密医療",
        host="link-j",
        cohosts=("ucsd",),
        agreements=("link-j-ucsd-2016",),
        timezone="Asia/Tokyo",
        in_days=14,
        starts=time(16, 0),
        ends=time(18, 0),
        description_en="A symposium in Nihonbashi with an eminent professor invited from UCSD.",
        description_ja="UCSD から著名な教授を招いて日本橋で開くシンポジウム。",
        venue_en="Nihonbashi Life Science Hub, Tokyo",
        venue_ja="日本橋ライフサイエンスハブ（東京）",
        online_url="https://meet.link-j.example/ucsd-seminar",
        capacity=150,
        tickets=(
            ("linkj_member", "LINK-J member", "LINK-J会員", 0, "JPY"),
            ("partner_member", "Partner member", "パートナー機関会員", 0, "JPY"),
            ("non_member", "General", "一般", 0, "JPY"),
        ),
        note="free; in person and online",
    ),
    DemoEvent(
        slug="kyoto-research-park-site-visit",
        kind="site_visit",
        title_en="Site Visit: Kyoto Research Park",
        title_ja="京都リサーチパーク 見学会",
        host="krp",
        cohosts=("link-j",),
        agreements=("link-j-krp-2017",),
        timezone="Asia/Tokyo",
        in_days=28,
        starts=time(13, 0),
        ends=time(16, 0),
        description_en="A guided visit of Japan's first privately run research park.",
        description_ja="日本初の民間運営リサーチパークを案内付きで見学します。",
        venue_en="Kyoto Research Park, Kyoto",
        venue_ja="京都リサーチパーク（京都市）",
        language="ja",
        visibility="network",
        capacity=20,
        requires_approval=True,
        tickets=(
            ("linkj_member", "LINK-J member", "LINK-J会員", 0, "JPY"),
            ("partner_member", "Partner member", "パートナー機関会員", 0, "JPY"),
        ),
        questions=[
            QuestionData(
                kind="text",
                label_en="Your company and what you hope to see",
                label_ja="ご所属と見学の目的",
                required=True,
            )
        ],
        note="needs approval; 20 seats",
    ),
    DemoEvent(
        slug="eurobiomed-marseille-medtech-day",
        kind="symposium",
        title_en="Eurobiomed–LINK-J MedTech Day, Marseille",
        title_ja="Eurobiomed・LINK-J メドテックデー（マルセイユ）",
        host="eurobiomed",
        cohosts=("link-j",),
        agreements=("link-j-eurobiomed-2017",),
        timezone="Europe/Paris",
        in_days=49,
        starts=time(9, 30),
        ends=time(17, 0),
        description_en="Southern France's medtech cluster meets Japanese companies.",
        description_ja="南仏のメドテッククラスターと日本企業の交流。",
        venue_en="Marseille, France",
        venue_ja="フランス・マルセイユ",
        language="en",
        capacity=100,
        tickets=(
            ("partner_member", "Eurobiomed member", "Eurobiomed会員", 0, "EUR"),
            ("linkj_member", "LINK-J member", "LINK-J会員", 0, "EUR"),
            ("non_member", "General", "一般", 9000, "EUR"),
        ),
        sessions=(
            ("Cluster introductions", "クラスター紹介", time(9, 30), time(11, 0), "Room 1"),
            ("Pitches", "ピッチ", time(11, 15), time(12, 30), "Room 1"),
            ("Partnering meetings", "個別面談", time(14, 0), time(17, 0), "Room 2"),
        ),
        note="Paris time; paid for non-members, EUR; multi-session",
    ),
    DemoEvent(
        slug="one-nucleus-london-tokyo-webinar",
        kind="workshop",
        title_en="One Nucleus × LINK-J Webinar: Genomics from London to Tokyo",
        title_ja="One Nucleus × LINK-J ウェビナー：ロンドンから東京へ ゲノミクス",
        host="one-nucleus",
        cohosts=("link-j",),
        agreements=("link-j-one-nucleus-2017",),
        timezone="Europe/London",
        in_days=42,
        starts=time(9, 0),
        ends=time(10, 30),
        description_en="An online workshop: morning in London, evening in Tokyo.",
        description_ja="ロンドンの朝、東京の夕方に開くオンラインワークショップ。",
        online_url="https://meet.link-j.example/one-nucleus-webinar",
        language="en",
        capacity=300,
        tickets=(
            ("partner_member", "One Nucleus member", "One Nucleus会員", 0, "GBP"),
            ("linkj_member", "LINK-J member", "LINK-J会員", 0, "GBP"),
            ("non_member", "General", "一般", 2000, "GBP"),
        ),
        note="London time; online only",
    ),
    DemoEvent(
        slug="link-j-members-networking-evening",
        kind="networking",
        title_en="LINK-J Members' Networking Evening",
        title_ja="LINK-J 会員交流会",
        host="link-j",
        cohosts=(),
        agreements=(),
        timezone="Asia/Tokyo",
        in_days=10,
        starts=time(18, 30),
        ends=time(20, 30),
        venue_en="Nihonbashi Life Science Hub, Tokyo",
        venue_ja="日本橋ライフサイエンスハブ（東京）",
        language="ja",
        visibility="linkj",
        capacity=60,
        tickets=(("linkj_member", "LINK-J member", "LINK-J会員", 0, "JPY"),),
        note="LINK-J members only",
    ),
)


def _actor() -> Person:
    person = find_person_by_email(DEMO_STAFF_EMAIL)
    if person is not None and person.is_staff:
        return person
    staff = db.session.scalar(
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role.in_([Role.STAFF.value, Role.ADMIN.value]))
        .order_by(Person.id)
    )
    if staff is None:
        raise RuntimeError("add a staff account first (portal demo creates one)")
    return staff


def _at(day: datetime, moment: time, zone: str) -> datetime:
    return datetime.combine(day.date(), moment, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _event_data(spec: DemoEvent) -> EventData:
    organizations = {o.slug: o for o in db.session.scalars(select(Organization))}
    agreements = {a.slug: a for a in db.session.scalars(select(Agreement))}
    missing = {spec.host, *spec.cohosts} - set(organizations)
    if missing or set(spec.agreements) - set(agreements):
        raise RuntimeError("seed the network first (portal seed)")
    if spec.on is not None:
        day = datetime.combine(spec.on, time(12), tzinfo=ZoneInfo(spec.timezone))
    else:
        day = utcnow().astimezone(ZoneInfo(spec.timezone)) + timedelta(days=spec.in_days)
    return EventData(
        slug=spec.slug,
        kind=spec.kind,
        title_en=spec.title_en,
        title_ja=spec.title_ja,
        host_id=organizations[spec.host].id,
        cohost_ids=[organizations[s].id for s in spec.cohosts],
        agreement_ids=[agreements[s].id for s in spec.agreements],
        starts_at=_at(day, spec.starts, spec.timezone),
        ends_at=_at(day, spec.ends, spec.timezone),
        timezone=spec.timezone,
        description_en=spec.description_en,
        description_ja=spec.description_ja,
        language=spec.language,
        venue_en=spec.venue_en,
        venue_ja=spec.venue_ja,
        online_url=spec.online_url,
        capacity=spec.capacity,
        visibility=spec.visibility,
        requires_approval=spec.requires_approval,
        ticket_types=[
            TicketTypeData(
                audience=audience,
                name_en=en,
                name_ja=ja,
                price=price,
                currency=currency,
                # Participation fees sold in Japan, in yen, carry the standard consumption tax.
                tax_rate=STANDARD_TAX_RATE if currency == "JPY" else 0,
            )
            for audience, en, ja, price, currency in spec.tickets
        ],
        questions=list(spec.questions),
        sessions=[
            SessionData(
                title_en=en,
                title_ja=ja,
                starts_at=_at(day, start, spec.timezone),
                ends_at=_at(day, end, spec.timezone),
                room=room,
            )
            for en, ja, start, end, room in spec.sessions
        ],
    )


def load_demo_events() -> list[str]:
    """Add the seed's past activities and the demo's upcoming joint events (idempotent, by
    slug); lines for the printout."""
    actor = _actor()
    lines = ["Demo events: the seed's past activities, and joint events with each partner:"]
    for spec in (*PAST_EVENTS, *DEMO_EVENTS):
        event = db.session.scalar(select(Event).where(Event.slug == spec.slug))
        if event is None:
            event = save_event(None, _event_data(spec), actor=actor)
            publish_event(event, actor=actor)
        local = event.starts_at.astimezone(ZoneInfo(event.timezone))
        lines.append(
            f"  {local:%Y-%m-%d %H:%M} {event.timezone:<19} /events/{event.slug}  ({spec.note})"
        )
    return lines
