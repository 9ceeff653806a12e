"""The corporate number (法人番号) of a Japanese company, checked by its check digit.

The National Tax Agency's rule (法人番号の指定等に関する省令, 財務省令第70号, 第2条): 13 digits, the
first a check digit computed from the 12 that follow (the base number, 基礎番号):

    9 − ((Σ Pn × Qn) mod 9),  n = 1…12

where Pn is the n-th digit of the base number counted from its lowest (rightmost) digit and
Qn is 1 for odd n and 2 for even n. The result is always 1…9.
"""

from __future__ import annotations

import unicodedata


def check_digit(base: str) -> int:
    """The check digit of a 12-digit base number."""
    if len(base) != 12 or not base.isascii() or not base.isdigit():
        raise ValueError("a base number is 12 digits")
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base), 1))
    return 9 - total % 9


def normalize(number: str) -> str:
    """As typed: full-width digits become ASCII, spaces and hyphens go."""
    cleaned = unicodedata.normalize("NFKC", number or "")
    return "".join(ch for ch in cleaned if ch not in " -\u3000")


def is_valid(number: str) -> bool:
    """True for 13 digits whose first is the check digit of the other twelve."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    return int(number[0]) == check_digit(number[1:])
