"""Demo data for ``portal demo``: an account for every role, so a newcomer sees each at work.

Idempotent: accounts that exist are left alone. Never run against production data.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts import memberships, services
from portal.accounts.models import Company, Role
from portal.events.demo import load_demo_events
from portal.extensions import db
from portal.organizations.models import Organization

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


def _organization(slug: str) -> Organization:
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if organization is None:
        raise RuntimeError("seed the network first (portal seed)")
    return organization


def _account(email: str, family_name: str, given_name: str, **profile: str):  # noqa: ANN202
    person = services.find_person_by_email(email)
    if person is None:
        person = services.create_person_directly(
            email, DEMO_PASSWORD, family_name=family_name, given_name=given_name
        )
        if profile:
            services.update_profile(person, **profile)
    return person


def load_demo_data() -> list[str]:
    """Add the demo accounts (idempotent) and return lines telling how to log in."""
    admin = _account("admin@link-j.example", "Admin", "Portal")
    if not admin.is_admin:
        services.grant_role(admin, Role.ADMIN, actor=None, reason="demo data")
    staff = _account(
        "staff@link-j.example",
        "佐藤",
        "花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        romanized_name="Hanako Sato",
        affiliation="LINK-J",
        preferred_locale="ja",
    )
    if not staff.is_staff:
        services.grant_role(staff, Role.STAFF, actor=admin, reason="demo data")
    for slug, email in PARTNER_ADMINS:
        organization = _organization(slug)
        partner_admin = _account(email, organization.short_name, "Admin")
        if partner_admin.administered_organization_id is None:
            services.grant_role(
                partner_admin,
                Role.PARTNER_ADMIN,
                actor=admin,
                organization=organization,
                reason="demo data",
            )

    hub = _organization("link-j")
    member = _account(
        "member@link-j.example",
        "山田",
        "太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        romanized_name="Taro Yamada",
        affiliation="Nihonbashi Pharma K.K.",
        preferred_locale="ja",
    )
    if not member.memberships:
        membership = memberships.claim_membership(member, hub, member_number="LJ-0001")
        memberships.verify_membership(membership, actor=staff, note="demo data")

    biocom = _organization("biocom")
    pending = _account(
        "member@biocom.example", "Lee", "Jordan", affiliation="Torrey Pines Therapeutics"
    )
    if not pending.memberships:
        memberships.claim_membership(pending, biocom, member_number="BC-2041")

    if (
        db.session.scalar(
            select(Company.id).where(Company.email_domain == "nihonbashi-pharma.example")
        )
        is None
    ):
        contact = _account(
            "contact@nihonbashi-pharma.example",
            "鈴木",
            "一郎",
            romanized_name="Ichiro Suzuki",
            affiliation="Nihonbashi Pharma K.K.",
            preferred_locale="ja",
        )
        memberships.create_company(
            actor=staff,
            name="Nihonbashi Pharma K.K.",
            email_domain="nihonbashi-pharma.example",
            seat_count=5,
            primary_contact=contact,
        )

    event_lines = load_demo_events()

    partner_lines = [f"  partner admin of {slug:<12} {email}" for slug, email in PARTNER_ADMINS]
    return [
        "Demo data: the LINK-J network with its six partners and their MOUs, and these",
        f"accounts, all with the password {DEMO_PASSWORD!r}:",
        "  admin (grants roles)      admin@link-j.example",
        "  LINK-J staff              staff@link-j.example",
        *partner_lines,
        "  verified LINK-J member    member@link-j.example",
        "  pending BIOCOM member     member@biocom.example",
        "  corporate primary contact contact@nihonbashi-pharma.example",
        *event_lines,
        "Card payment is off (no Stripe keys): paid tickets are paid by invoice, which works.",
        "Mail (confirmation and reset links) is printed here as it is sent.",
    ]
