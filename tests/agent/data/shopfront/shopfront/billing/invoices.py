"""Invoices: totals, taxes and the plain-text rendering sent by e-mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TAX_RATES = {"DE": Decimal("0.19"), "FR": Decimal("0.20"), "NL": Decimal("0.21"), "US": Decimal("0")}
CENT = Decimal("0.01")


@dataclass
class Line:
    """One invoice line: a product, how many, and the unit price."""

    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Invoice:
    """An order's invoice; ``country`` decides the tax rate."""

    number: str
    country: str
    lines: list[Line] = field(default_factory=list)
    discount: Decimal = Decimal("0")

    def subtotal(self) -> Decimal:
        """Sum of the line amounts before discount and tax."""
        return sum((line.amount for line in self.lines), Decimal("0"))

    def tax(self) -> Decimal:
        """Tax on the discounted subtotal at the country's rate."""
        rate = TAX_RATES.get(self.country)
        if rate is None:
            raise ValueError(f"no tax rate for country {self.country!r}")
        return ((self.subtotal() - self.discount) * rate).quantize(CENT, ROUND_HALF_UP)

    def total(self) -> Decimal:
        """What the customer pays: discounted subtotal plus tax."""
        return self.subtotal() - self.discount + self.tax()


def render_invoice(invoice: Invoice) -> str:
    """The invoice as fixed-width text for the confirmation e-mail."""
    rows = [f"Invoice {invoice.number}", ""]
    for line in invoice.lines:
        rows.append(f"{line.sku:<12}{line.quantity:>4} x {line.unit_price:>8} = {line.amount:>9}")
    rows.append("")
    rows.append(f"{'Subtotal':<28}{invoice.subtotal():>9}")
    if invoice.discount:
        rows.append(f"{'Discount':<28}{-invoice.discount:>9}")
    rows.append(f"{'Tax':<28}{invoice.tax():>9}")
    rows.append(f"{'Total':<28}{invoice.total():>9}")
    return "\n".join(rows)
