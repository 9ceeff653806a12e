"""Money: integers in the currency's minor unit (rule 5), formatted per locale."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, get_currency_precision

from portal.language import locale as current_locale


def minor_digits(currency: str) -> int:
    """Decimal places of the currency's minor unit: JPY 0, USD/EUR/GBP 2 (ISO 4217)."""
    return get_currency_precision(currency.upper())


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_digits(currency))


def format_money(amount: int, currency: str) -> str:
    """¥5,000 in English and 5,000円 in Japanese; $50.00; €12.50; £8.00."""
    locale = current_locale() or "en"
    value = to_decimal(amount, currency)
    if currency.upper() == "JPY" and str(locale).startswith("ja"):
        # Japanese writes yen after the number, as on receipts and invoices.
        return f"{format_decimal(value, locale=locale)}円"
    return format_currency(value, currency.upper(), locale=locale)


def to_minor(value: Decimal, currency: str) -> int:
    """An amount typed in the major unit (50.00 dollars, 5000 yen) as an integer of minor
    units; ValueError if it has more decimals than the currency allows (¥0.5, $1.005)."""
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has too many decimals for {currency}")
    return int(scaled)


#: The largest amount the portal stores, in minor units: what a person can read as "9 digits".
LARGEST_AMOUNT = 999_999_999


def parse_amount(text: str, currency: str) -> int:
    """An amount as a person types it, in the major unit, as an integer of minor units:
    ``"5,000"`` JPY → 5000, ``"25.5"`` USD → 2550, full-width digits too; empty is 0.

    ValueError when it is not an amount: not a number, negative, more decimals than the
    currency has, or beyond what the portal stores.
    """
    cleaned = unicodedata.normalize("NFKC", text or "").replace(",", "").replace("_", "").strip()
    if not cleaned:
        return 0
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("not a positive amount")
    minor = to_minor(value, currency)
    if minor > LARGEST_AMOUNT:
        raise ValueError("beyond what the database stores")
    return minor


def amount_text(amount: int, currency: str) -> str:
    """An amount as a form shows it for editing: 5000 JPY → "5000", 2550 USD → "25.50"."""
    return str(to_decimal(amount, currency))
