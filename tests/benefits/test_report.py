"""The reciprocity report: what each MOU gave in each direction, per quarter or year."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.benefits import report
from portal.benefits.models import ClaimStatus
from portal.extensions import db
from portal.organizations.models import Agreement
from tests.factories import add_claim, add_member, agreement, recorded_statements
from tests.roles import Story

pytestmark = pytest.mark.usefixtures("english")

TOKYO = "Asia/Tokyo"


def agreements(*slugs: str) -> list[Agreement]:
    query = select(Agreement).options(joinedload(Agreement.hub), joinedload(Agreement.partner))
    if slugs:
        query = query.where(Agreement.slug.in_(slugs))
    return list(db.session.scalars(query.order_by(Agreement.signed_on, Agreement.id)))


def row(result: report.Report, provider: str, beneficiary: str) -> report.DirectionRow:
    [found] = [
        r for r in result.rows if (r.provider.slug, r.beneficiary.slug) == (provider, beneficiary)
    ]
    return found


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_claims_are_counted_per_direction_and_quarter(story: Story) -> None:
    others = [add_member("link-j")[0] for _ in range(3)]
    add_claim(story.taro, story.member_rate, status=ClaimStatus.APPROVED, created_at=at(2026, 2, 1))
    add_claim(others[0], story.member_rate, status=ClaimStatus.FULFILLED, created_at=at(2026, 2, 9))
    add_claim(others[1], story.member_rate, status=ClaimStatus.REJECTED, created_at=at(2026, 5, 1))
    add_claim(others[2], story.member_rate, status=ClaimStatus.REQUESTED, created_at=at(2026, 5, 2))
    add_claim(
        story.taro, story.member_rate, status=ClaimStatus.CANCELLED, created_at=at(2026, 8, 1)
    )
    add_claim(story.alice, story.desk_day, status=ClaimStatus.APPROVED, created_at=at(2026, 11, 1))
    add_claim(story.taro, story.member_rate, status=ClaimStatus.APPROVED, created_at=at(2025, 6, 1))

    result = report.reciprocity_report(
        agreements("link-j-one-nucleus-2017"), kind="quarter", year=2026, timezone=TOKYO
    )

    assert [p.key for p in result.periods] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [(r.provider.slug, r.beneficiary.slug) for r in result.rows] == [
        ("one-nucleus", "link-j"),
        ("link-j", "one-nucleus"),
    ]
    to_link_j = row(result, "one-nucleus", "link-j")
    assert [(c.requested, c.granted, c.refused) for c in to_link_j.per_period] == [
        (2, 2, 0),
        (2, 0, 1),
        (1, 0, 0),
        (0, 0, 0),
    ]
    assert (to_link_j.total.requested, to_link_j.total.granted, to_link_j.total.refused) == (
        5,
        2,
        1,
    )
    assert to_link_j.total.other == 2
    to_one_nucleus = row(result, "link-j", "one-nucleus")
    assert [c.granted for c in to_one_nucleus.per_period] == [0, 0, 0, 1]


def test_periods_follow_japan_time(story: Story) -> None:
    # 2026-03-31 15:30 UTC is 1 April 00:30 in Tokyo: the second quarter there.
    add_claim(
        story.taro,
        story.member_rate,
        status=ClaimStatus.APPROVED,
        created_at=at(2026, 3, 31, 15, 30),
    )
    other = add_member("link-j")[0]
    add_claim(
        other, story.member_rate, status=ClaimStatus.APPROVED, created_at=at(2026, 3, 31, 14, 59)
    )

    result = report.reciprocity_report(
        agreements("link-j-one-nucleus-2017"), kind="quarter", year=2026, timezone=TOKYO
    )

    assert [c.requested for c in row(result, "one-nucleus", "link-j").per_period] == [1, 1, 0, 0]


def test_the_year_view_shows_five_years(story: Story) -> None:
    add_claim(
        story.taro, story.introductions, status=ClaimStatus.APPROVED, created_at=at(2022, 7, 1)
    )
    # Before the range:
    add_claim(
        story.taro, story.introductions, status=ClaimStatus.APPROVED, created_at=at(2021, 7, 1)
    )

    result = report.reciprocity_report(
        agreements("link-j-biocom-2016"), kind="year", year=2026, timezone=TOKYO
    )

    assert [p.key for p in result.periods] == ["2022", "2023", "2024", "2025", "2026"]
    assert [c.requested for c in row(result, "biocom", "link-j").per_period] == [1, 0, 0, 0, 0]


def test_every_mou_has_both_directions_even_without_claims(story: Story) -> None:
    result = report.reciprocity_report(agreements(), kind="year", year=2026, timezone=TOKYO)

    assert len(result.rows) == 12
    assert all(r.total.requested == 0 for r in result.rows)


def test_the_report_costs_two_statements_however_many_mous_and_claims(story: Story) -> None:
    for _ in range(10):
        add_claim(add_member("link-j")[0], story.introductions, created_at=at(2026, 4, 1))
    every_mou = agreements()
    with recorded_statements() as statements:
        report.reciprocity_report(every_mou, kind="quarter", year=2026, timezone=TOKYO)

    # One for the claims, one for the registrations the events area counts.
    assert len(statements) == 2
    assert all("GROUP BY" in statement for statement in statements)


def test_registrations_appear_once_the_events_area_counts_them(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    mou = agreement("link-j-biocom-2016")

    def registrations(agreements: object, periods: list[report.Period]) -> dict[report.Key, int]:
        return {(mou.id, mou.partner_id, mou.hub_id, len(periods) - 1): 7}

    monkeypatch.setattr(report, "REGISTRATION_COUNTERS", [])
    without = report.reciprocity_report(
        agreements("link-j-biocom-2016"), kind="year", year=2026, timezone=TOKYO
    )
    assert not without.has_registrations
    assert "Registrations" not in report.to_csv(without)

    monkeypatch.setattr(report, "REGISTRATION_COUNTERS", [registrations])
    result = report.reciprocity_report(
        agreements("link-j-biocom-2016"), kind="year", year=2026, timezone=TOKYO
    )

    assert result.has_registrations
    assert row(result, "biocom", "link-j").total.registrations == 7
    lines = list(csv.reader(io.StringIO(report.to_csv(result).lstrip("\ufeff"))))
    assert lines[0][-1] == "Registrations by the beneficiary's members"
    assert lines[5][-1] == "7"


def test_the_csv_has_a_bom_and_defuses_formulas(story: Story) -> None:
    story.biocom.short_name = "=HYPERLINK(1)"
    db.session.commit()

    text = report.to_csv(
        report.reciprocity_report(
            agreements("link-j-biocom-2016"), kind="quarter", year=2026, timezone=TOKYO
        )
    )

    assert text.startswith("\ufeffMOU,Provider,Beneficiary,Period,")
    assert "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text


def test_the_chart_draws_bars_in_proportion(story: Story) -> None:
    for _ in range(3):
        add_claim(
            add_member("link-j")[0],
            story.introductions,
            status=ClaimStatus.APPROVED,
            created_at=at(2026, 4, 1),
        )
    add_claim(
        story.taro, story.introductions, status=ClaimStatus.REJECTED, created_at=at(2026, 4, 2)
    )

    chart = report.chart(
        report.reciprocity_report(
            agreements("link-j-biocom-2016"), kind="quarter", year=2026, timezone=TOKYO
        )
    )

    biocom_bar = chart.bars[0]
    assert biocom_bar.label == "BIOCOM → LINK-J"
    assert [(s.css_class, s.value) for s in biocom_bar.segments] == [
        ("bar-granted", 3),
        ("bar-refused", 1),
    ]
    granted, refused = biocom_bar.segments
    assert granted.width == pytest.approx(3 * refused.width)
    assert refused.x == pytest.approx(granted.x + granted.width)
    assert chart.bars[1].segments == []  # nothing the other way
    assert chart.ticks[-1][1] >= 4


def test_members_are_counted_per_period_and_once_over_the_whole_range(story: Story) -> None:
    other = add_member("link-j")[0]
    add_claim(
        story.taro, story.introductions, status=ClaimStatus.APPROVED, created_at=at(2026, 2, 1)
    )
    add_claim(other, story.introductions, status=ClaimStatus.REJECTED, created_at=at(2026, 2, 2))
    add_claim(
        story.taro, story.introductions, status=ClaimStatus.APPROVED, created_at=at(2026, 5, 1)
    )

    result = report.reciprocity_report(
        agreements("link-j-biocom-2016"), kind="quarter", year=2026, timezone=TOKYO
    )

    to_link_j = row(result, "biocom", "link-j")
    assert [(c.requested, c.members) for c in to_link_j.per_period] == [
        (2, 2),
        (1, 1),
        (0, 0),
        (0, 0),
    ]
    # Taro claimed in two quarters: one member of the year, not two.
    assert (to_link_j.total.requested, to_link_j.total.members) == (3, 2)
    assert row(result, "link-j", "biocom").total.members == 0
    lines = list(csv.reader(io.StringIO(report.to_csv(result).lstrip("\ufeff"))))
    assert lines[0][4:8] == [
        "Claims requested",
        "Claims granted",
        "Claims refused",
        "Members who claimed",
    ]
    assert lines[1][3:8] == ["2026-Q1", "2", "1", "1", "2"]
    assert report.chart(result).bars[0].value_label == "3 · 2 members"
