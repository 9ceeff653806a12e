"""Parts of pages remembered by the values they print, shared by every viewer.

Some parts of a page are a pure function of a few plain values and the reader's language: an
event's card in the list prints its title, times, kind, organizers and prices, the same for
every viewer who is shown that event. Rendering those parts is most of a list's cost. Kept
under the values themselves (not under a name that some change must remember to invalidate),
a change to an event simply asks for another entry, and the old one ages out of the bounded
memo; nothing here can show stale data. What differs per viewer or per minute (seats left,
the viewer's own registration, the CSRF token) stays outside the remembered parts.

In a template::

    {% call remembered("event-card", card, viewer_zone) %}…{% endcall %}

Where reading the values costs more than printing them (the home page's network), the key may
instead be a version of the tables the body reads (``versions.tables_version``) and the body
reads them itself, only when it is rendered. The key must name every value the body prints
besides the language (added here); the body
is rendered only when the memo does not hold it. Where the body prints an object graph (an
event with its hosts, MOUs, ticket types and programme), ``by_value`` makes its key from every
column of every object along the named relationships, so no field list is kept by hand. Each
process keeps its own memo (no network round trip: a hit costs a dictionary look-up).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, Generic, TypeVar

from flask import Flask
from markupsafe import Markup
from sqlalchemy import inspect

from portal.language import locale as current_locale

#: Entries per process: an event list's page holds 20 cards, in two languages.
DEFAULT_SIZE = 4096


Value = TypeVar("Value")


class BoundedMemo(Generic[Value]):
    """A bounded, least-recently-used memo of values a worker makes once and reuses (rendered
    parts of pages, registration form classes). Size 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        # gunicorn's threaded workers share the memo: reordering must not interleave.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_make(self, key: Hashable, make: Callable[[], Value]) -> Value:
        if self.size <= 0:
            return make()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
        made = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = made
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FragmentMemo(BoundedMemo[Markup]):
    """Rendered HTML by key and the reader's language."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        super().__init__(size)

    def render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        # The body was rendered with autoescape on.
        return self.get_or_make((key, str(current_locale())), lambda: Markup(render()))  # noqa: S704


def by_value(root: Any, *paths: str) -> tuple[Any, ...]:
    """``root`` and every object along ``paths`` ("agreements.partner": each agreement, and
    each one's partner) as the values of all their columns: a key that changes whenever
    anything they could print changes. Relationships not named are not followed."""
    values: list[Any] = [_columns(root)]
    for path in paths:
        objects = [root]
        steps = path.split(".")
        for depth, name in enumerate(steps):
            found: list[Any] = []
            for obj in objects:
                related = getattr(obj, name)
                if related is None:
                    continue
                found.extend(related if isinstance(related, list | tuple) else [related])
            objects = found
            # Every object on the way is printed too (an agreement's slug, then its partner).
            values.append((".".join(steps[: depth + 1]), tuple(_columns(obj) for obj in objects)))
    return tuple(values)


def form_state(form: Any) -> tuple[Any, ...]:
    """What a WTForms form's fields print, but its CSRF token: per field its name, kind, id,
    label, choices, data, errors, flags, description and attributes. A key for the fields'
    rendering: a form shown with what was typed and its errors keys apart from a blank one."""
    return tuple(
        (
            field.name,
            type(field).__name__,
            field.id,
            str(field.label.text),
            _hashable(getattr(field, "choices", None)),
            _hashable(field.data),
            tuple(str(error) for error in field.errors),
            tuple(sorted(vars(field.flags).items())),
            str(field.description),
            _hashable(field.render_kw),
        )
        for field in form
        if field.type != "CSRFTokenField"
    )


def _columns(obj: Any) -> tuple[Any, ...]:
    state = inspect(obj)
    # Read from the loaded values themselves (an event page walks some 200 of them); a column
    # not loaded yet is loaded as the template would load it.
    loaded = state.dict
    return (
        state.mapper.class_.__name__,
        *(
            _hashable(loaded[key] if key in loaded else getattr(obj, key))
            for key in _column_keys(state.mapper)
        ),
    )


@lru_cache(maxsize=256)
def _column_keys(mapper: Any) -> tuple[str, ...]:
    return tuple(c.key for c in mapper.column_attrs)


def _hashable(value: Any) -> Any:
    # JSON columns hold lists and dicts, forms lists of choices: written out, they can be part
    # of a key.
    if isinstance(value, dict | list | tuple | set):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def init_app(app: Flask) -> None:
    memo = FragmentMemo(int(app.config.get("FRAGMENT_MEMO_SIZE", DEFAULT_SIZE)))  # 0: off
    app.extensions["fragments"] = memo

    def remembered(*key: Hashable, caller: Callable[[], str], when: bool = True) -> Markup:
        # ``when=False``: this request cannot know the key (no store), so render afresh.
        return memo.render(key, caller) if when else Markup(caller())  # noqa: S704

    app.jinja_env.globals["remembered"] = remembered
    app.jinja_env.globals["by_value"] = by_value
    app.jinja_env.globals["form_state"] = form_state
