"""The seats-left figure as the event list and an event's page print it, and printing it again
on a page kept for every anonymous visitor (``portal.pagecache``).

Such a page would otherwise go stale at every registration, or have to be thrown away at each
one, on an opening day hundreds of times a minute. The figure is printed inside a span naming
its event and capacity; serving a kept page counts the seats held of the events it names (rule
1: seats are held by the states in ``SEAT_STATES``), in one statement, and prints each figure
again in the reader's language. A change to the event itself (its capacity among others) makes
the kept page unreachable, so the capacity printed in the span is the event's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup

from portal.events.queries import held_seats_of
from portal.language import gettext as _

#: What ``seat_figure`` prints; page text cannot forge it (a "<" from content is escaped).
_FIGURE = re.compile(
    r'<span class="seats-left" data-event="(\d{1,18})" data-capacity="(\d{1,18})">[^<]*</span>'
)


def seat_figure(event_id: int, held: int, capacity: int) -> Markup:
    return _figure(event_id, held, capacity, _wording())


def refresh(body: str, counted: Mapping[int, int] | None = None) -> str:
    """``body`` with every seat figure counted again now (one statement for all of them), or
    with the seats held ``counted`` just before, by event, when they name every figure's."""
    named = {int(match[1]) for match in _FIGURE.finditer(body)}
    if not named:
        return body
    if counted is not None and named <= counted.keys():
        held = counted
    else:
        held = held_seats_of(sorted(named))
    wording = _wording()  # looked up once for the page's twenty figures

    def again(match: re.Match[str]) -> str:
        event_id = int(match[1])
        return str(_figure(event_id, held.get(event_id, 0), int(match[2]), wording))

    return _FIGURE.sub(again, body)


def _wording() -> tuple[str, str]:
    """A full event's words, and the seats left's (with ``left`` and ``capacity`` to fill)."""
    return _("Full — waitlist open"), _("%(left)d of %(capacity)d seats left")


def _figure(event_id: int, held: int, capacity: int, wording: tuple[str, str]) -> Markup:
    full, seats_left = wording
    text = (
        full if held >= capacity else seats_left % {"left": capacity - held, "capacity": capacity}
    )
    return Markup(  # noqa: S704 - numbers and escaped text
        '<span class="seats-left" data-event="%d" data-capacity="%d">%s</span>'
    ) % (event_id, capacity, text)
