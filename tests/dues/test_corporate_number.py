"""The 法人番号 check digit (財務省令第70号 第2条): real numbers' shape, and what it refuses."""

from __future__ import annotations

import pytest

from portal.dues.corporate_number import check_digit, is_valid, normalize


@pytest.mark.parametrize(
    "number",
    [
        "7123456789012",  # the worked example of the ministerial ordinance's formula
        "4011001098993",  # a Tokyo stock company (base 011001098993: 01 = 東京, 1 = 株式会社)
        "2120901007402",  # an Osaka company, as its register shows it
    ],
)
def test_real_shaped_numbers_check(number: str) -> None:
    assert is_valid(number)
    assert check_digit(number[1:]) == int(number[0])


@pytest.mark.parametrize(
    "number",
    [
        "6123456789012",  # wrong check digit
        "7123456789021",  # two digits swapped
        "712345678901",  # 12 digits
        "71234567890123",  # 14 digits
        "712345678901X",
        "",
    ],
)
def test_mistyped_numbers_are_refused(number: str) -> None:
    assert not is_valid(number)


def test_full_width_digits_and_hyphens_are_read() -> None:
    assert is_valid(normalize("７－１２３４－５６７８－９０１２"))


def test_check_digit_is_always_one_to_nine() -> None:
    # 9 − (sum mod 9): never 0, so a number never starts with 0.
    assert {check_digit(f"{n:012d}") for n in range(0, 10**12, 7_919_113_007)} <= set(range(1, 10))
    assert check_digit("000000000000") == 9
