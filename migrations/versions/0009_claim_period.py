"""benefit claims: the allowance period and place each live claim holds (one per place)

Revision ID: 0009_claim_period
Revises: 0008_cross_border_consent
Create Date: 2026-12-02 10:00:00

A member may hold a service's limit of live claims (requested, granted, fulfilled) per limit
period, or one in all when the service has no limit. Each claim now records the period it
counts in (``2026``, ``2026-Q2``, ``2026-04``, ``ever``, on the provider's calendar) and a
numbered place within it; a partial unique index keeps one live claim per place.

Databases written before this hold repeated claims (a service with no limit could be claimed
again and again). They are not refused, which would stop every upgrade until someone edited
rows by hand: in each period the member keeps their allowance of claims, fulfilled ones and
then the earliest, and the rest are withdrawn (cancelled) with a note they read on their
claims page and an audit entry. A fulfilled claim records a benefit delivered and is never
withdrawn; should fulfilled claims alone exceed the allowance, each keeps a place of its own.
Codes given to a withdrawn claim stay with it, so no code is handed out twice. Downgrading
removes the columns and the index but does not restore withdrawn claims.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_claim_period"
down_revision = "0008_cross_border_consent"
branch_labels = None
depends_on = None

LIVE = ("requested", "approved", "fulfilled")
LIVE_WHERE = "status IN ('requested', 'approved', 'fulfilled')"

log = logging.getLogger("alembic.runtime.migration")

claim_table = sa.table(
    "benefit_claim",
    sa.column("id", sa.Integer),
    sa.column("person_id", sa.Integer),
    sa.column("service_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("cancelled_at", sa.DateTime(timezone=True)),
    sa.column("decision_note", sa.Text),
    sa.column("period", sa.String),
    sa.column("slot", sa.SmallInteger),
)
service_table = sa.table(
    "reciprocal_service",
    sa.column("id", sa.Integer),
    sa.column("provider_id", sa.Integer),
    sa.column("beneficiary_id", sa.Integer),
    sa.column("limit_per_member", sa.Integer),
    sa.column("limit_period", sa.String),
)
organization_table = sa.table(
    "organization", sa.column("id", sa.Integer), sa.column("timezone", sa.String)
)
audit_table = sa.table(
    "audit_entry",
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("organization_id", sa.Integer),
    sa.column("subject_type", sa.String),
    sa.column("subject_id", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("details", sa.JSON),
)


def _period_key(limit: int | None, limit_period: str, day) -> str:  # noqa: ANN001
    # As portal.benefits.services.allowance and period_key say, frozen here.
    if not limit or limit_period == "ever":
        return "ever"
    if limit_period == "year":
        return f"{day.year}"
    if limit_period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def _aware(value: datetime) -> datetime:
    # SQLite returns the stored UTC time without its zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _withdrawal_note(kept_on: str) -> str:
    return (
        f"Withdrawn: it repeated your claim of {kept_on} on this service in the same period. "
        f"同じ期間に同じサービスを申請済み（{kept_on}）のため、重複分として取り下げました。"
    )


def _backfill() -> None:
    bind = op.get_bind()
    provider = organization_table.alias("provider")
    beneficiary = organization_table.alias("beneficiary")
    rows = bind.execute(
        sa.select(
            claim_table.c.id,
            claim_table.c.person_id,
            claim_table.c.service_id,
            claim_table.c.status,
            claim_table.c.created_at,
            claim_table.c.decision_note,
            service_table.c.provider_id,
            service_table.c.limit_per_member,
            service_table.c.limit_period,
            provider.c.timezone,
            beneficiary.c.timezone.label("member_timezone"),
        )
        .select_from(
            claim_table.join(service_table, service_table.c.id == claim_table.c.service_id)
            .join(provider, provider.c.id == service_table.c.provider_id)
            .join(beneficiary, beneficiary.c.id == service_table.c.beneficiary_id)
        )
        .order_by(claim_table.c.created_at, claim_table.c.id)
    ).all()

    places: list[dict[str, object]] = []
    groups: dict[tuple[int, int, str], list] = defaultdict(list)
    for row in rows:
        created = _aware(row.created_at)
        day = created.astimezone(ZoneInfo(row.timezone)).date()
        key = _period_key(row.limit_per_member, row.limit_period, day)
        if row.status in LIVE:
            # The day as the member's claims page shows it, for the withdrawal's note.
            member_day = created.astimezone(ZoneInfo(row.member_timezone)).date()
            groups[(row.person_id, row.service_id, key)].append((row, member_day))
        else:
            places.append({"claim_id": row.id, "new_period": key, "new_slot": 1})

    now = datetime.now(UTC)
    withdrawn: list[dict[str, object]] = []
    audits: list[dict[str, object]] = []
    for (_person, _service, key), members in groups.items():
        allowance = members[0][0].limit_per_member or 1
        # Fulfilled first (never withdrawn), then the earliest; rows are already in time order.
        ordered = [m for m in members if m[0].status == "fulfilled"] + [
            m for m in members if m[0].status != "fulfilled"
        ]
        kept = [m for n, m in enumerate(ordered) if n < allowance or m[0].status == "fulfilled"]
        kept_ids = [m[0].id for m in kept]
        for slot, (row, _day) in enumerate(ordered, start=1):
            places.append({"claim_id": row.id, "new_period": key, "new_slot": slot})
            if row.id in kept_ids:
                continue
            note = _withdrawal_note(kept[0][1].isoformat())
            withdrawn.append(
                {
                    "claim_id": row.id,
                    "note": f"{row.decision_note}\n{note}" if row.decision_note else note,
                }
            )
            audits.append(
                {
                    "occurred_at": now,
                    "actor_id": None,
                    "action": "benefit_claim.withdraw",
                    "organization_id": row.provider_id,
                    "subject_type": "benefit_claim",
                    "subject_id": row.id,
                    "reason": "A repeat of a claim on the same service in the same period.",
                    "details": {
                        "service": row.service_id,
                        "period": key,
                        "kept": kept_ids,
                        "status": row.status,
                        "revision": revision,
                    },
                }
            )

    if places:
        bind.execute(
            claim_table.update()
            .where(claim_table.c.id == sa.bindparam("claim_id"))
            .values(period=sa.bindparam("new_period"), slot=sa.bindparam("new_slot")),
            places,
        )
    if withdrawn:
        bind.execute(
            claim_table.update()
            .where(claim_table.c.id == sa.bindparam("claim_id"))
            .values(
                status="cancelled",
                cancelled_at=now,
                updated_at=now,
                decision_note=sa.bindparam("note"),
            ),
            withdrawn,
        )
        bind.execute(audit_table.insert(), audits)
        log.warning(
            "Withdrew %d repeated benefit claims (kept each member's allowance per service "
            "and period); see audit entries benefit_claim.withdraw.",
            len(withdrawn),
        )


def upgrade():
    with op.batch_alter_table("benefit_claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("slot", sa.SmallInteger(), nullable=True))

    _backfill()

    with op.batch_alter_table("benefit_claim", schema=None) as batch_op:
        batch_op.alter_column("period", existing_type=sa.String(length=10), nullable=False)
        batch_op.alter_column("slot", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_benefit_claim_slot_positive"), "slot >= 1")
        batch_op.create_index(
            "uq_benefit_claim_live",
            ["person_id", "service_id", "period", "slot"],
            unique=True,
            sqlite_where=sa.text(LIVE_WHERE),
            postgresql_where=sa.text(LIVE_WHERE),
        )


def downgrade():
    # Loses nothing: the period and place are computed from each claim's time and its
    # service's terms, and upgrading again computes them anew.
    with op.batch_alter_table("benefit_claim", schema=None) as batch_op:
        batch_op.drop_index("uq_benefit_claim_live")
        batch_op.drop_constraint(op.f("ck_benefit_claim_slot_positive"), type_="check")
        batch_op.drop_column("slot")
        batch_op.drop_column("period")
