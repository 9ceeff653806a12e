"""The one CSV writer every export uses: Excel opens it, and never runs a cell as a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from portal.csvfile import csv_text, safe_cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(start: str) -> None:
    typed = f"{start}cmd|' /C calc'!A0"

    assert safe_cell(typed) == "'" + typed


def test_other_cells_and_numbers_pass_as_they_are() -> None:
    assert [safe_cell(v) for v in ("佐藤 花子", "a=b", "", None)] == ["佐藤 花子", "a=b", "", ""]
    assert [safe_cell(v) for v in (-5, 12, Decimal("-1.50"))] == [-5, 12, Decimal("-1.50")]


def test_the_file_has_a_byte_order_mark_crlf_lines_and_safe_cells() -> None:
    text = csv_text(["=Name", "Amount"], [["@SUM(A1)", Decimal("50.00")], ["\tx", -3]])

    assert text.startswith("\ufeff") and text.count("\r\n") == 3
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["'=Name", "Amount"],
        ["'@SUM(A1)", "50.00"],
        ["'\tx", "-3"],
    ]
