"""The reciprocity report reads on a phone: a narrow chart, quarters over time, and a table
that can hide the directions without claims (a link, no script)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from portal.accounts.models import Role
from portal.benefits import report
from portal.benefits.models import ClaimStatus
from tests.benefits.test_report import TOKYO, agreements
from tests.factories import add_claim, add_person, add_role
from tests.factories import add_member as member_of
from tests.roles import Story, login

pytestmark = pytest.mark.usefixtures("english")

EN = {"Accept-Language": "en"}


def _claims(story: Story) -> None:
    for month, status in ((2, ClaimStatus.APPROVED), (5, ClaimStatus.REJECTED)):
        add_claim(
            member_of("link-j")[0],
            story.introductions,
            status=status,
            created_at=datetime(2026, month, 3, tzinfo=UTC),
        )


def test_the_timeline_has_a_column_per_quarter_in_order(story: Story) -> None:
    _claims(story)
    result = report.reciprocity_report(
        agreements("link-j-biocom-2016"), kind="quarter", year=2026, timezone=TOKYO
    )

    timeline = report.timeline(result)

    assert [c.label for c in timeline.columns] == [p.label for p in result.periods]
    assert [c.total for c in timeline.columns] == [1, 1, 0, 0]
    xs = [c.x for c in timeline.columns]
    assert xs == sorted(xs) and timeline.width <= 360


def test_the_chart_fits_a_phone_with_labels_above_the_bars(story: Story) -> None:
    _claims(story)
    chart = report.chart(
        report.reciprocity_report(agreements(), kind="quarter", year=2026, timezone=TOKYO)
    )

    # At 390 px the drawing (≤ 360 units wide) is shown at ≥ 0.9×: 12-unit labels stay legible.
    assert chart.width <= 360
    assert all(bar.segments == [] or bar.segments[0].x == 0 for bar in chart.bars)


def test_the_table_hides_directions_without_claims_with_a_plain_link(
    client: FlaskClient, story: Story
) -> None:
    _claims(story)
    login(client, add_role(add_person("staff@link-j.org"), Role.STAFF))

    every = client.get("/admin/report?year=2026", headers=EN).get_data(as_text=True)
    only = client.get("/admin/report?year=2026&nonempty=1", headers=EN).get_data(as_text=True)

    assert "Hide directions without claims" in every and "nonempty=1" in every
    assert every.count('scope="rowgroup"') == 12  # six MOUs, both ways
    assert only.count('scope="rowgroup"') == 1  # BIOCOM → LINK-J only
    assert "Show every direction" in only
    assert "<script" not in only
