"""Every date and time the portal writes, in one place: pages, mail, PDFs and CSV files.

People read times as they write them, on the clock of the event or organization the time
belongs to (rule 9), naming that clock, never with seconds:

- ja: 2026年12月21日(月) 13:30〜17:30（日本時間）
- en: Mon 21 Dec 2026, 13:30–17:30 JST

When the viewer keeps another zone in their profile, their own time follows in brackets. A
range within one day writes the day once; a range across days writes each day once. A
programme line under an event writes only the clock (the event's heading has the day).
Machines read ISO 8601 with the offset (CSV files, ``<time datetime>``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton, get_timezone_name
from flask import Flask, has_request_context
from flask_login import current_user

from portal.language import current_language, gettext

#: The zone of times that belong to no organization (role changes): LINK-J's.
DEFAULT_TIMEZONE = "Asia/Tokyo"

#: The day with its weekday. Japanese: Babel's own skeleton (2026年12月21日(月)); English: the
#: day-month order of LINK-J's partners abroad and Japan's English press (Mon 21 Dec 2026),
#: the same for every English reader.
_DAY_PATTERN = {"en": "EEE d MMM y"}
_DAY_SKELETON = {"ja": "yMMMEd"}
_CLOCK = "HH:mm"
#: Between the two ends of a range: the wave dash of Japanese print, the en dash of English.
_RANGE = {"ja": "〜", "en": "–"}
#: Around a range whose ends fall on different days, where a bare dash would bind too tightly.
_WIDE_RANGE = {"ja": "〜", "en": " – "}

#: "The viewer's zone as their profile says", the default of ``viewer=``.
PROFILE = object()


def _language(language: str | None = None) -> str:
    if language:
        return language
    return "ja" if current_language() == "ja" else "en"


def _zone(zone: str | tzinfo | None) -> tzinfo:
    if isinstance(zone, tzinfo):
        return zone
    return ZoneInfo(zone or DEFAULT_TIMEZONE)


def viewer_timezone() -> str | None:
    """The zone the signed-in viewer keeps in their profile, if any."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return getattr(current_user, "timezone", None) or None


def _viewer(viewer: Any) -> str | None:
    return viewer_timezone() if viewer is PROFILE else viewer


# --- the pieces ------------------------------------------------------------------------


def day(value: date, language: str | None = None) -> str:
    """A day with its weekday: 2026年12月21日(月) / Mon 21 Dec 2026."""
    return _day(value, _language(language))


# Babel reads its locale data afresh for every format, and an event list writes fifty days:
# the few days the portal shows are remembered per language (a day is a day forever).
@lru_cache(maxsize=4096)
def _day(value: date, language: str) -> str:
    if language in _DAY_SKELETON:
        return format_skeleton(_DAY_SKELETON[language], value, locale=language)
    return format_datetime(value, _DAY_PATTERN["en"], locale="en")


def long_day(value: date, language: str | None = None) -> str:
    """A day without its weekday, for deadlines and validity: 2027年3月31日 / 31 March 2027."""
    language = _language(language)
    if language == "ja":
        return format_skeleton("yMMMMd", value, locale="ja")
    return format_datetime(value, "d MMMM y", locale="en")


def month(value: date, language: str | None = None) -> str:
    """A month: 2018年1月 / January 2018."""
    language = _language(language)
    return format_skeleton("yMMMM", value, locale=language)


def zone_label(moment: datetime, zone: str | tzinfo, language: str | None = None) -> str:
    """The zone as readers of the language name it at that moment: 日本時間, JST, PDT."""
    language = _language(language)
    tz = _zone(zone)
    if language == "ja":
        if getattr(tz, "key", None) == "Asia/Tokyo":
            return "日本時間"
        return _japanese_zone_name(moment.astimezone(tz), tz)
    return moment.astimezone(tz).tzname() or str(zone)


# Babel's look-up of a zone's name is slow, and pages name the same events' moments again and
# again: remembered per moment and zone (aware datetimes compare by instant alone, so the
# zone is a key of its own).
@lru_cache(maxsize=4096)
def _japanese_zone_name(local: datetime, _zone: tzinfo) -> str:
    return get_timezone_name(local, "long", locale="ja")


def _with_zone(text: str, moment: datetime, zone: str | tzinfo, language: str) -> str:
    label = zone_label(moment, zone, language)
    return f"{text}（{label}）" if language == "ja" else f"{text} {label}"


def _day_and_clock(moment: datetime, tz: tzinfo, language: str) -> str:
    local = moment.astimezone(tz)
    separator = " " if language == "ja" else ", "
    return f"{day(local.date(), language)}{separator}{local.strftime('%H:%M')}"


# --- what pages, mail and PDFs use ------------------------------------------------------


def local_moment(moment: datetime, zone: str | tzinfo | None, language: str | None = None) -> str:
    """One instant on one clock: 2026年12月21日(月) 13:30（日本時間）"""
    return _local_moment(moment, zone, _language(language))


def local_span(
    start: datetime, end: datetime | None, zone: str | tzinfo | None, language: str | None = None
) -> str:
    """From ``start`` to ``end`` on one clock, each day written once."""
    if end is None:
        return local_moment(start, zone, language)
    return _local_span(start, end, zone, _language(language))


# What a time reads as depends on nothing but the instants, the clock and the language, and a
# page writes the same events' times over and over (an event list: twenty, each twice for a
# viewer abroad): remembered per process, as the days are. Aware datetimes compare by instant,
# and the zone is a key of its own.
@lru_cache(maxsize=2048)
def _local_moment(moment: datetime, zone: str | tzinfo | None, language: str) -> str:
    tz = _zone(zone)
    return _with_zone(_day_and_clock(moment, tz, language), moment, tz, language)


@lru_cache(maxsize=2048)
def _local_span(start: datetime, end: datetime, zone: str | tzinfo | None, language: str) -> str:
    tz = _zone(zone)
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first.date() == last.date():
        text = f"{_day_and_clock(first, tz, language)}{_RANGE[language]}{last.strftime('%H:%M')}"
    else:
        text = (
            f"{_day_and_clock(first, tz, language)}{_WIDE_RANGE[language]}"
            f"{_day_and_clock(last, tz, language)}"
        )
    return _with_zone(text, first, tz, language)


def _beside(text: str, own: str, language: str) -> str:
    yours = gettext("your time: %(time)s", time=own)
    # Japanese would nest brackets here (the zone is already in them): a slash reads better.
    return f"{text}／{yours}" if language == "ja" else f"{text} ({yours})"


def moment(
    value: datetime | None,
    zone: str | tzinfo | None = None,
    *,
    viewer: Any = PROFILE,
    language: str | None = None,
) -> str:
    """An instant on the clock it belongs to, and on the viewer's own when that differs."""
    if value is None:
        return ""
    language = _language(language)
    text = local_moment(value, zone, language)
    own = _viewer(viewer)
    if own and _differs(value, zone, own):
        return _beside(text, local_moment(value, own, language), language)
    return text


def span(
    start: datetime | None,
    end: datetime | None,
    zone: str | tzinfo | None = None,
    *,
    viewer: Any = PROFILE,
    language: str | None = None,
) -> str:
    """A range on the clock it belongs to, and on the viewer's own when that differs."""
    if start is None:
        return ""
    language = _language(language)
    text = local_span(start, end, zone, language)
    own = _viewer(viewer)
    if own and _differs(start, zone, own):
        return _beside(text, local_span(start, end, own, language), language)
    return text


def clock_span(start: datetime, end: datetime | None, zone: str | tzinfo | None) -> str:
    """A programme line's times, without the day its event's heading already gives: 13:30–14:10."""
    tz = _zone(zone)
    first = start.astimezone(tz).strftime("%H:%M")
    if end is None:
        return first
    return f"{first}{_RANGE[_language()]}{end.astimezone(tz).strftime('%H:%M')}"


def _differs(moment: datetime, zone: str | tzinfo | None, other: str) -> bool:
    try:
        theirs = ZoneInfo(other)
    except (KeyError, ValueError):
        return False
    return moment.astimezone(_zone(zone)).utcoffset() != moment.astimezone(theirs).utcoffset()


def local_date(value: datetime | None, zone: str | tzinfo | None = None) -> date | None:
    """The day a stored UTC time falls on, on the clock of ``zone``."""
    return value.astimezone(_zone(zone)).date() if value else None


def iso(value: datetime | date | None, zone: str | tzinfo | None = None) -> str:
    """ISO 8601 for machines: a day as 2026-12-21, an instant with its offset on ``zone``'s
    clock (2026-12-21T13:30:00+09:00)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(_zone(zone)).isoformat(timespec="seconds")
    return value.isoformat()


def init_app(app: Flask) -> None:
    """The Jinja filters every template writes times with."""
    app.jinja_env.filters.update(
        moment=moment,
        span=span,
        clock_span=clock_span,
        day=long_day,
        weekday=day,
        month=month,
        iso=iso,
        local_date=local_date,
    )
    app.jinja_env.globals.update(zone_label=zone_label)
