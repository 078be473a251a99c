"""Billing for the shop."""

import math
from dataclasses import dataclass

TAX_RATE = 0.2
MAX_DISCOUNT = 0.5


@dataclass
class Invoice:
    """An invoice for one cart."""

    number: str
    total: float
    tax: float = 0.0

    def add_tax(self, rate: float = TAX_RATE) -> None:
        """Add tax to the invoice total."""
        self.tax = round(self.total * rate, 2)
        self.total += self.tax

    def apply_discount(self, share: float) -> float:
        """Apply a discount share to the invoice total."""
        share = min(share, MAX_DISCOUNT)
        self.total = math.floor(self.total * (1 - share) * 100) / 100
        return self.total


def send_invoice_email(invoice: Invoice, address: str) -> str:
    """Compose the email that carries an invoice."""
    return f"To: {address}\nInvoice {invoice.number}: {invoice.total:.2f}"


def refund_payment(payment_id: str, amount: float) -> dict:
    """Refund part or all of a payment."""
    if amount <= 0:
        raise ValueError("refund amount must be positive")
    return {"payment": payment_id, "refund": amount}


def shipping_cost(weight: float) -> float:
    """Shipping cost of a parcel by weight."""
    return 4.5 + 1.2 * max(weight - 1.0, 0.0)
