"""CSV for spreadsheets: every file the portal exports is written here, and every uploaded one
is decoded here.

Files open in Excel, so: UTF-8 with a byte-order mark (Excel in Japan reads UTF-8 only with
it), CRLF line ends, and no cell that a spreadsheet would run as a formula. Names, answers
and titles are typed by anyone; a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading single quote, as OWASP's advice on CSV injection says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from portal import inputs
from portal.errors import InvalidInput
from portal.language import gettext as _

#: What makes a spreadsheet read a cell as a formula (or hide one behind a blank).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BYTE_ORDER_MARK = "\ufeff"


def safe_cell(value: object) -> object:
    """The value as a spreadsheet will show it and never run it. Numbers pass as they are: a
    number cannot carry a formula, and a negative one stays a number."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """The whole file as text, starting with the byte-order mark; encode it as UTF-8."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()


#: Excel saves "CSV UTF-8" with a byte-order mark, and Japanese Excel saves plain "CSV" in
#: Shift_JIS; cp932 is Microsoft's Shift_JIS, which also reads ①, ㈱ and the like.
UPLOAD_ENCODINGS = ("utf-8-sig", "cp932")


def decode_upload(content: bytes) -> tuple[str, str]:
    """The text of an uploaded CSV and the encoding it was in; InvalidInput when it is
    neither encoding or holds control characters (a NUL would reach PostgreSQL)."""
    for encoding in UPLOAD_ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if inputs.has_control_characters([text]):
            raise InvalidInput(_("The file holds characters that are not text. Save it as CSV."))
        return text, encoding
    raise InvalidInput(_("The file is neither UTF-8 nor Shift_JIS. Save it from Excel as CSV."))
