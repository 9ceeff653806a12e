"""Demo data for ``portal demo``: an account for every role, so a newcomer sees each at work.

Idempotent: accounts that exist are left alone. Never run against production data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.accounts import companies, memberships, services
from portal.accounts.models import Company, Person, Role
from portal.accounts.profile import update_profile
from portal.api import keys
from portal.api.models import Scope
from portal.benefits import catalogue
from portal.benefits.codes import import_codes
from portal.dues.demo import load_demo_plans
from portal.events.demo import load_demo_events
from portal.extensions import db
from portal.organizations.models import Agreement, Organization, ReciprocalService, Redemption

DEMO_PASSWORD = "linkj-demo-2026"  # noqa: S105 - printed for the demo on purpose

#: (slug of the partner, address of its admin)
PARTNER_ADMINS = (
    ("ucsd", "admin@ucsd.example"),
    ("biocom", "admin@biocom.example"),
    ("eurobiomed", "admin@eurobiomed.example"),
    ("krp", "admin@krp.example"),
    ("one-nucleus", "admin@onenucleus.example"),
    ("ibri", "admin@ibri.example"),
)


@dataclass(frozen=True)
class DemoAccount:
    """A demo account, and how the printout names it."""

    shown_as: str
    email: str
    family_name: str
    given_name: str
    #: Set on the profile when the account is created.
    profile: dict[str, str] = field(default_factory=dict)


ADMIN = DemoAccount("admin (grants roles)", "admin@link-j.example", "Admin", "Portal")
STAFF = DemoAccount(
    "LINK-J staff",
    "staff@link-j.example",
    "佐藤",
    "花子",
    {
        "family_name_kana": "サトウ",
        "given_name_kana": "ハナコ",
        "romanized_name": "Hanako Sato",
        "affiliation": "LINK-J",
        "preferred_locale": "ja",
    },
)
MEMBER = DemoAccount(
    "verified LINK-J member",
    "member@link-j.example",
    "山田",
    "太郎",
    {
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        "romanized_name": "Taro Yamada",
        "affiliation": "Nihonbashi Pharma K.K.",
        "preferred_locale": "ja",
    },
)
PENDING_MEMBER = DemoAccount(
    "pending BIOCOM member",
    "member@biocom.example",
    "Lee",
    "Jordan",
    {"affiliation": "Torrey Pines Therapeutics"},
)
COMPANY_CONTACT = DemoAccount(
    "corporate primary contact",
    "contact@nihonbashi-pharma.example",
    "鈴木",
    "一郎",
    {
        "romanized_name": "Ichiro Suzuki",
        "affiliation": "Nihonbashi Pharma K.K.",
        "preferred_locale": "ja",
    },
)


def _organization(slug: str) -> Organization:
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if organization is None:
        raise RuntimeError("seed the network first (portal seed)")
    return organization


def _account(account: DemoAccount) -> Person:
    person = services.find_person_by_email(account.email)
    if person is None:
        person = services.create_person_directly(
            account.email,
            DEMO_PASSWORD,
            family_name=account.family_name,
            given_name=account.given_name,
        )
        if account.profile:
            update_profile(person, **account.profile)
    return person


def load_demo_data(base_url: str = "http://127.0.0.1:5000") -> list[str]:
    """Add the demo accounts (idempotent) and return lines telling how to log in."""
    staff = _demo_staff()
    _demo_members(staff)
    _demo_company(staff)
    _load_demo_benefits(staff)
    load_demo_plans()
    return _login_lines(load_demo_events(), _demo_api_key(base_url))


def _demo_staff() -> Person:
    """The admin, LINK-J's secretariat and one admin per partner; returns the staff member."""
    admin = _account(ADMIN)
    if not admin.is_admin:
        services.grant_role(admin, Role.ADMIN, actor=None, reason="demo data")
    staff = _account(STAFF)
    if not staff.is_staff:
        services.grant_role(staff, Role.STAFF, actor=admin, reason="demo data")
    for slug, email in PARTNER_ADMINS:
        organization = _organization(slug)
        partner_admin = _account(
            DemoAccount(f"partner admin of {slug}", email, organization.short_name, "Admin")
        )
        if partner_admin.administered_organization_id is None:
            services.grant_role(
                partner_admin,
                Role.PARTNER_ADMIN,
                actor=admin,
                organization=organization,
                reason="demo data",
            )
    return staff


def _demo_members(staff: Person) -> None:
    """A verified LINK-J member and a BIOCOM member waiting for BIOCOM's decision."""
    member = _account(MEMBER)
    if not member.memberships:
        membership = services.claim_membership(
            member, _organization("link-j"), member_number="LJ-0001"
        )
        memberships.verify_membership(membership, actor=staff, note="demo data")
    pending = _account(PENDING_MEMBER)
    if not pending.memberships:
        services.claim_membership(pending, _organization("biocom"), member_number="BC-2041")


def _demo_company(staff: Person) -> None:
    """A LINK-J corporate member with five seats and its primary contact."""
    if (
        db.session.scalar(
            select(Company.id).where(Company.email_domain == "nihonbashi-pharma.example")
        )
        is not None
    ):
        return
    contact = _account(COMPANY_CONTACT)
    companies.create_company(
        actor=staff,
        name="Nihonbashi Pharma K.K.",
        email_domain="nihonbashi-pharma.example",
        seat_count=5,
        primary_contact=contact,
    )


def _account_line(account: DemoAccount) -> str:
    return f"  {account.shown_as:<25} {account.email}"


def _login_lines(event_lines: list[str], api_lines: list[str]) -> list[str]:
    partner_lines = [f"  partner admin of {slug:<12} {email}" for slug, email in PARTNER_ADMINS]
    return [
        "Demo data: the LINK-J network with its six partners and their MOUs, and these",
        f"accounts, all with the password {DEMO_PASSWORD!r}:",
        *(_account_line(a) for a in (ADMIN, STAFF)),
        *partner_lines,
        *(_account_line(a) for a in (MEMBER, PENDING_MEMBER, COMPANY_CONTACT)),
        *event_lines,
        "Benefits: member@link-j.example can claim One Nucleus's member rate (needs One",
        "Nucleus's approval, then a code from a pool), BIOCOM introductions (granted at once)",
        "and UC San Diego's research digest; One Nucleus members get LINK-J's desk day.",
        "LINK-J membership: plans A and B (corporate, by invoice) and C (individual, by card)",
        "at /membership/plans; staff see applications, dues and reception at /admin/dues/plans.",
        "Card payment is off (no Stripe keys): paid tickets are paid by invoice, which works;",
        "yen tickets include 10% consumption tax, shown per rate on the invoice and receipt.",
        "Mail (confirmation and reset links) is printed here as it is sent.",
        *api_lines,
    ]


DEMO_KEY_NAME = "Demo CRM"


def _demo_api_key(base_url: str) -> list[str]:
    """A fresh API key of BIOCOM's admin (a secret is shown once, so each run revokes the
    previous demo key and prints a new one) and a curl command that uses it."""
    biocom = _organization("biocom")
    officer = services.find_person_by_email("admin@biocom.example")
    assert officer is not None
    for key in keys.keys_of(biocom):
        if key.name == DEMO_KEY_NAME and key.revoked_at is None:
            keys.revoke_key(key, actor=officer)
    created = keys.create_key(
        biocom, actor=officer, name=DEMO_KEY_NAME, scopes=[scope.value for scope in Scope]
    )
    return [
        f"API: BIOCOM's key {created.secret} (all permissions; reference at",
        f"{base_url}/api/v1/). Try:",
        f'  curl -H "Authorization: Bearer {created.secret}" \\',
        f"       {base_url}/api/v1/organizations/biocom/memberships?status=pending",
    ]


#: (agreement slug, provider slug, terms) of the demo's claimable services.
DEMO_SERVICES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "link-j-one-nucleus-2017",
        "one-nucleus",
        {
            "category": "member_services",
            "title_en": "Member rate at One Nucleus Genesis and BioPartnering Europe",
            "title_ja": "One Nucleus主催 Genesis・BioPartnering Europe の会員価格",
            "description_en": "LINK-J members register at One Nucleus member rates.",
            "description_ja": "LINK-J会員はOne Nucleus会員と同じ価格で参加登録できます。",
            "requires_approval": True,
            "limit_per_member": 1,
            "limit_period": "year",
            "redemption": "code_pool",
            "redemption_instructions_en": (
                "Register for Genesis or BioPartnering Europe on onenucleus.com and enter the "
                "code at checkout: the member rate applies to one delegate pass. Bring the "
                "confirmation and photo ID to the registration desk."
            ),
            "redemption_instructions_ja": (
                "onenucleus.com で Genesis または BioPartnering Europe に参加登録し、お支払い画面で"
                "コードを入力してください。会員価格は参加パス1名分に適用されます。当日は登録確認メールと"
                "写真付き身分証明書を受付へお持ちください。"
            ),
        },
    ),
    (
        "link-j-biocom-2016",
        "biocom",
        {
            "category": "member_services",
            "title_en": "Introductions to BIOCOM member companies",
            "title_ja": "BIOCOM会員企業の紹介",
            "description_en": "BIOCOM's team introduces you to member companies in San Diego.",
            "description_ja": "BIOCOMがサンディエゴの会員企業をご紹介します。",
            "limit_per_member": 2,
            "limit_period": "year",
            "redemption_instructions_en": (
                "Write to intros@biocom.example with your LINK-J membership number, your company "
                "and the partners you are looking for. BIOCOM's team suggests up to three member "
                "companies within two weeks and sets up video calls with them."
            ),
            "redemption_instructions_ja": (
                "LINK-Jの会員番号、会社名、お探しの提携先を添えて intros@biocom.example へ英語で"
                "ご連絡ください。2週間以内にBIOCOMの担当者が会員企業を3社までご提案し、オンライン面談を"
                "設定します。"
            ),
        },
    ),
    (
        "link-j-ucsd-2016",
        "ucsd",
        {
            "category": "publications",
            "title_en": "UC San Diego research digest",
            "title_ja": "UCサンディエゴ研究ダイジェスト",
            "redemption": "shared_code",
            "shared_code": "UCSD-LINKJ-2026",
            "redemption_instructions_en": (
                "Sign up on the digest's page at ucsd.edu with this code and the address you use "
                "on this portal; the digest arrives by e-mail once a month."
            ),
            "redemption_instructions_ja": (
                "ucsd.edu のダイジェストのページで、このコードとこのポータルと同じ"
                "メールアドレスを入力して登録してください。毎月1回メールで届きます。"
            ),
        },
    ),
    (
        "link-j-one-nucleus-2017",
        "link-j",
        {
            "category": "member_services",
            "title_en": "A desk day at LINK-J's Nihonbashi offices",
            "title_ja": "LINK-J日本橋オフィスのデスク利用（1日）",
            "requires_approval": True,
            "limit_per_member": 1,
            "limit_period": "quarter",
            "redemption_instructions_en": (
                "LINK-J's secretariat writes to you within five working days to agree the day. "
                "Come to the LINK-J reception on the 3rd floor of the Nihonbashi Life Science "
                "Building at 9:30 with your business card and photo ID; the desk is yours until "
                "18:00."
            ),
            "redemption_instructions_ja": (
                "5営業日以内にLINK-J事務局から日程調整のご連絡を差し上げます。当日は9時30分に、名刺と"
                "写真付き身分証明書をお持ちのうえ日本橋ライフサイエンスビルディング3階のLINK-J受付へ"
                "お越しください。デスクは18時までご利用いただけます。"
            ),
        },
    ),
)


def _load_demo_benefits(staff: Person) -> None:
    """Claimable services with and without approval and a code pool (idempotent)."""
    for agreement_slug, provider_slug, terms in DEMO_SERVICES:
        agreement = db.session.scalar(select(Agreement).where(Agreement.slug == agreement_slug))
        if agreement is None:
            continue
        exists = db.session.scalar(
            select(ReciprocalService.id).where(
                ReciprocalService.agreement_id == agreement.id,
                ReciprocalService.title_en == terms["title_en"],
            )
        )
        if exists is not None:
            continue
        service = catalogue.create_service(
            agreement,
            catalogue.ServiceTerms(provider_id=_organization(provider_slug).id, **terms),
            actor=staff,
        )
        if service.redemption == Redemption.CODE_POOL:
            codes = "code\n" + "\n".join(f"ON-LINKJ-{n:04d}" for n in range(1, 21))
            import_codes(service, codes.encode(), actor=staff, filename="demo.csv")
