"""Discount codes and sales tax."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DISCOUNT_CODES = {"WELCOME10": Decimal("0.10"), "VIP25": Decimal("0.25")}
TAX_RATES = {"CA": Decimal("0.0725"), "NY": Decimal("0.04"), "OR": Decimal("0")}


class UnknownDiscountCode(ValueError):
    """A discount code that the shop does not offer."""


def apply_discount(amount: Decimal, code: str | None) -> Decimal:
    """``amount`` reduced by the percentage of discount ``code`` (unchanged without a code)."""
    if code is None:
        return amount
    try:
        rate = DISCOUNT_CODES[code.upper()]
    except KeyError:
        raise UnknownDiscountCode(f"unknown discount code: {code}") from None
    return (amount * (1 - rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def tax_for(amount: Decimal, region: str) -> Decimal:
    """Sales tax due on ``amount`` in ``region``, rounded to cents."""
    rate = TAX_RATES.get(region, Decimal("0"))
    return (amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
