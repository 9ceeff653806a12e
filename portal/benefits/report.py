"""The reciprocity report: for each MOU and direction, per quarter or year, what was claimed.

Periods are calendar quarters or years in the hub's time zone (LINK-J: Asia/Tokyo). A claim
counts in the period in which it was made: *requested* is every claim made, *granted* those
approved or fulfilled, *refused* those rejected (claims still waiting, or cancelled by the
member, count as requested only); *members* is how many different people made them, per
period and over the whole range (not the sum of the periods: one person claiming in two
quarters is one member of the year).

Registrations by the other side's members (the events area) plug in through
``REGISTRATION_COUNTERS``: a counter takes the report's agreements and periods and returns
``{(agreement_id, provider_id, beneficiary_id, period_index): count}`` in a constant number
of statements. While no counter is registered the column is left out of the table, the
chart and the CSV, rather than shown as a misleading 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, literal_column, select, union_all

from portal.benefits.models import GRANTED_STATES, BenefitClaim, ClaimStatus
from portal.csvfile import csv_text
from portal.extensions import db
from portal.language import gettext as _
from portal.language import ngettext
from portal.organizations.models import Agreement, Organization, ReciprocalService

PeriodKind = Literal["quarter", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("quarter", "year")
#: The year view shows this many years, ending with the chosen one.
YEARS_SHOWN = 5

Key = tuple[int, int, int, int]
RegistrationCounter = Callable[[Sequence[Agreement], Sequence["Period"]], dict[Key, int]]
#: Filled by the events area; see the module's docstring.
REGISTRATION_COUNTERS: list[RegistrationCounter] = []


@dataclass(frozen=True)
class Period:
    #: Stable, language-free name: ``2025-Q1`` or ``2025``.
    key: str
    #: As the viewer's language writes it.
    label: str
    #: [start, end) as aware datetimes.
    start: datetime
    end: datetime


def periods(kind: PeriodKind, year: int, timezone: str) -> list[Period]:
    """The quarters of ``year``, or the YEARS_SHOWN years ending with it, in ``timezone``."""
    zone = ZoneInfo(timezone)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    if kind == "quarter":
        return [
            Period(
                key=f"{year}-Q{q}",
                label=_("Q%(quarter)d %(year)d", quarter=q, year=year),
                start=midnight(date(year, 3 * q - 2, 1)),
                end=midnight(date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)),
            )
            for q in range(1, 5)
        ]
    return [
        Period(
            key=str(y),
            label=_("%(year)d", year=y),
            start=midnight(date(y, 1, 1)),
            end=midnight(date(y + 1, 1, 1)),
        )
        for y in range(year - YEARS_SHOWN + 1, year + 1)
    ]


@dataclass
class Counts:
    requested: int = 0
    granted: int = 0
    refused: int = 0
    #: Different people who made the claims (counted, never added up).
    members: int = 0
    registrations: int = 0

    def add(self, other: Counts) -> None:
        self.requested += other.requested
        self.granted += other.granted
        self.refused += other.refused
        self.registrations += other.registrations

    @property
    def other(self) -> int:
        """Waiting for a decision or cancelled by the member."""
        return self.requested - self.granted - self.refused


@dataclass
class DirectionRow:
    """One direction of one MOU: what ``provider`` gave ``beneficiary``'s members."""

    agreement: Agreement
    provider: Organization
    beneficiary: Organization
    per_period: list[Counts]
    total: Counts = field(default_factory=Counts)


@dataclass
class Report:
    kind: PeriodKind
    year: int
    timezone: str
    periods: list[Period]
    rows: list[DirectionRow]
    #: Whether an events counter filled the registrations column.
    has_registrations: bool


#: The period index under which ``_claim_counts`` returns the whole range's counts.
WHOLE_RANGE = -1


def _claim_counts(agreements: Sequence[Agreement], spans: Sequence[Period]) -> dict[Key, Counts]:
    """One statement: claims per MOU, direction and period, and per MOU and direction over
    the whole range (period ``WHOLE_RANGE``), whose members cannot be added up from the
    periods'."""
    bucket = case(
        *((BenefitClaim.created_at < p.end, index) for index, p in enumerate(spans)),
    )
    granted = [s.value for s in GRANTED_STATES]
    claims = (
        select(
            ReciprocalService.agreement_id,
            ReciprocalService.provider_id,
            ReciprocalService.beneficiary_id,
            bucket.label("period"),
            BenefitClaim.status,
            BenefitClaim.person_id,
        )
        .join(BenefitClaim.service)
        .where(
            ReciprocalService.agreement_id.in_([a.id for a in agreements]),
            BenefitClaim.created_at >= spans[0].start,
            BenefitClaim.created_at < spans[-1].end,
        )
        .cte("claims")
    )
    counted = (
        func.count(),
        func.sum(case((claims.c.status.in_(granted), 1), else_=0)),
        func.sum(case((claims.c.status == ClaimStatus.REJECTED.value, 1), else_=0)),
        func.count(claims.c.person_id.distinct()),
    )
    direction = (claims.c.agreement_id, claims.c.provider_id, claims.c.beneficiary_id)
    # Grouping on the CTE's column: PostgreSQL does not see two renderings of a CASE with
    # bound parameters as the same expression.
    per_period = select(*direction, claims.c.period, *counted).group_by(*direction, claims.c.period)
    whole_range = select(
        *direction, literal_column(str(WHOLE_RANGE), Integer).label("period"), *counted
    ).group_by(*direction)
    counts = {}
    for (
        agreement_id,
        provider,
        beneficiary,
        period,
        requested,
        granted_n,
        refused,
        members,
    ) in db.session.execute(union_all(per_period, whole_range)):
        counts[(agreement_id, provider, beneficiary, period)] = Counts(
            int(requested), int(granted_n or 0), int(refused or 0), int(members)
        )
    return counts


def reciprocity_report(
    agreements: Sequence[Agreement], *, kind: PeriodKind, year: int, timezone: str
) -> Report:
    """Counts for each agreement's two directions (the partner's side first) and period, in a
    constant number of statements. ``agreements`` need their hub and partner loaded."""
    spans = periods(kind, year, timezone)
    counts = _claim_counts(agreements, spans) if agreements else {}
    registrations: dict[Key, int] = {}
    for counter in REGISTRATION_COUNTERS:
        for key, value in counter(agreements, spans).items():
            registrations[key] = registrations.get(key, 0) + value
    rows = []
    for agreement in agreements:
        for provider, beneficiary in (
            (agreement.partner, agreement.hub),
            (agreement.hub, agreement.partner),
        ):
            row = DirectionRow(agreement, provider, beneficiary, [])
            for index in range(len(spans)):
                key = (agreement.id, provider.id, beneficiary.id, index)
                cell = counts.get(key, Counts())
                cell.registrations = registrations.get(key, 0)
                row.per_period.append(cell)
                row.total.add(cell)
            whole = counts.get((agreement.id, provider.id, beneficiary.id, WHOLE_RANGE))
            row.total.members = whole.members if whole else 0
            rows.append(row)
    return Report(
        kind=kind,
        year=year,
        timezone=timezone,
        periods=spans,
        rows=rows,
        has_registrations=bool(REGISTRATION_COUNTERS),
    )


# --- the chart: horizontal stacked bars, drawn on the server as SVG --------------------------


@dataclass(frozen=True)
class Segment:
    css_class: str
    x: float
    width: float
    value: int
    title: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    total: int
    #: Beside the bar: the claims, and the members who made them.
    value_label: str
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    bar_height: int
    plot_width: int
    bars: list[Bar]
    #: (x, value) of the axis' ticks.
    ticks: list[tuple[float, int]]


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return step * 4
    return value


def chart(report: Report) -> Chart:
    """Per direction, the claims of the whole range: granted, refused, and the rest.

    Drawn for a phone first: each direction's label sits above its bar, so the drawing is
    narrow (360 units) and its 12-unit text stays legible at 390 px; wider screens show it
    at its own size."""
    label_width, plot_width, bar_height, gap, top = 0, 250, 16, 12, 18
    scale_max = _nice_max(max((r.total.requested for r in report.rows), default=0) or 1)
    bars = []
    for index, row in enumerate(report.rows):
        x = float(label_width)
        segments = []
        for css_class, value, title in (
            ("bar-granted", row.total.granted, _("Granted: %(num)d", num=row.total.granted)),
            ("bar-refused", row.total.refused, _("Refused: %(num)d", num=row.total.refused)),
            (
                "bar-other",
                row.total.other,
                _("Waiting or cancelled: %(num)d", num=row.total.other),
            ),
        ):
            width = plot_width * value / scale_max
            if value:
                segments.append(Segment(css_class, round(x, 1), round(width, 1), value, title))
            x += width
        bars.append(
            Bar(
                label=_(
                    "%(provider)s → %(beneficiary)s",
                    provider=row.provider.short_name,
                    beneficiary=row.beneficiary.short_name,
                ),
                y=top + index * (bar_height + gap + 16),
                total=row.total.requested,
                value_label=(
                    ngettext(
                        "%(claims)d · %(num)d member",
                        "%(claims)d · %(num)d members",
                        row.total.members,
                        claims=row.total.requested,
                    )
                    if row.total.requested
                    else "0"
                ),
                segments=segments,
            )
        )
    ticks = [
        (round(label_width + plot_width * step / 4, 1), scale_max * step // 4) for step in range(5)
    ]
    height = top + len(bars) * (bar_height + gap + 16) + 14
    return Chart(
        # Room right of the longest bar for its "25 · 3 members".
        width=label_width + plot_width + 110,
        height=height,
        label_width=label_width,
        bar_height=bar_height,
        plot_width=plot_width,
        bars=bars,
        ticks=ticks,
    )


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    #: Stacked from the axis up: (css class, y, height, value, title).
    segments: list[Segment]
    total: int


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    axis_y: float
    column_width: float
    columns: list[Column]


def timeline(report: Report) -> Timeline:
    """Every direction's claims summed per period, as columns over time (quarters or
    years), granted, refused and the rest stacked; narrow enough for a phone."""
    totals = [Counts() for _period in report.periods]
    for row in report.rows:
        for counts, period_counts in zip(totals, row.per_period, strict=True):
            counts.add(period_counts)
    width, plot_height, top, left = 360, 140, 16, 8
    step = (width - 2 * left) / max(len(report.periods), 1)
    column_width = min(step * 0.6, 48)
    scale_max = _nice_max(max((c.requested for c in totals), default=0) or 1)
    axis_y = top + plot_height
    columns = []
    for index, (period, counts) in enumerate(zip(report.periods, totals, strict=True)):
        x = left + index * step + (step - column_width) / 2
        y = float(axis_y)
        segments = []
        for css_class, value, title in (
            ("bar-granted", counts.granted, _("Granted: %(num)d", num=counts.granted)),
            ("bar-refused", counts.refused, _("Refused: %(num)d", num=counts.refused)),
            ("bar-other", counts.other, _("Waiting or cancelled: %(num)d", num=counts.other)),
        ):
            height = plot_height * value / scale_max
            y -= height
            if value:
                # Segment's x holds the top (y) and width the height of a vertical segment.
                segments.append(Segment(css_class, round(y, 1), round(height, 1), value, title))
        columns.append(Column(period.label, round(x, 1), segments, counts.requested))
    return Timeline(
        width=width,
        height=int(axis_y + 24),
        axis_y=axis_y,
        column_width=round(column_width, 1),
        columns=columns,
    )


def has_claims(row: DirectionRow) -> bool:
    """A direction with anything to show: claims made, or registrations counted."""
    return bool(row.total.requested or row.total.registrations)


# --- CSV for Excel ---------------------------------------------------------------------------


def to_csv(report: Report) -> str:
    """UTF-8 text with a byte-order mark, so Excel in Japan opens it without mojibake."""
    header = [
        _("MOU"),
        _("Provider"),
        _("Beneficiary"),
        _("Period"),
        _("Claims requested"),
        _("Claims granted"),
        _("Claims refused"),
        _("Members who claimed"),
    ]
    if report.has_registrations:
        header.append(_("Registrations by the beneficiary's members"))
    lines = []
    for row in report.rows:
        for period, counts in zip(report.periods, row.per_period, strict=True):
            line = [
                row.agreement.slug,
                row.provider.short_name,
                row.beneficiary.short_name,
                period.key,
                counts.requested,
                counts.granted,
                counts.refused,
                counts.members,
            ]
            if report.has_registrations:
                line.append(counts.registrations)
            lines.append(line)
    return csv_text(header, lines)
