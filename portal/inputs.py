"""What the portal accepts from a request before any view reads it.

PostgreSQL refuses a NUL byte in text and an integer beyond its column's type with an error,
where SQLite stores or compares them; either way the request is bad, not the server. Such
values are refused at the door (see ``register_input_guards`` in the application factory),
and every integer read from an address or a query string is one the database can hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.routing import IntegerConverter, Map

#: The largest INTEGER of PostgreSQL, the type of every id and count the portal stores.
MAX_INTEGER = 2**31 - 1
MIN_INTEGER = -(2**31)

#: C0 control characters but tab, line feed and carriage return (which text areas send), and
#: DEL: no address, query or form of the portal carries them; NUL is refused by PostgreSQL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class IdConverter(IntegerConverter):
    """``<int:…>``: a number beyond any id matches no rule, so the address is not found."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(map, *args, **kwargs)


def integer(text: str) -> int:
    """``type=`` for ``request.args.get``: an integer the database can hold.

    Anything else raises ValueError, which ``get`` answers with its default, as it does for
    a value that is not a number at all.
    """
    value = int(text)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise ValueError(f"{text!r} is beyond the database's integers")
    return value


def has_control_characters(texts: Iterable[str]) -> bool:
    return any(CONTROL_CHARACTERS.search(text) for text in texts)


def safe_next(value: str | None) -> str | None:
    """The one rule for where a ``next`` (or a referrer) may send a browser: a path on this
    site, or None.

    Browsers forgive a lot: they strip tabs and line feeds from a URL, read ``\\`` as ``/``,
    and take ``//host`` or ``/\\host`` as another site; a server that decodes once more turns
    ``%2F%2F`` into ``//``. So the value is percent-decoded until it stops changing, and is
    refused when the decoded text has a scheme or a host, starts with anything but a single
    ``/``, or holds a backslash, a control character or whitespace anywhere. What is accepted
    is returned as given (its encoding untouched).
    """
    if not value or len(value) > 2000:
        return None
    decoded, previous = value, None
    for _round in range(5):
        if decoded == previous:
            break
        previous, decoded = decoded, unquote(decoded)
    else:
        return None  # encoded over and over: nobody's honest link
    if any(c == "\\" or c.isspace() or unicodedata.category(c)[0] == "C" for c in decoded):
        return None
    if not decoded.startswith("/") or decoded.startswith("//"):
        return None
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc:
        return None
    return value
