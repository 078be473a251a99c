"""Refunds: who may get money back, how much, and when."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from .invoices import Invoice

REFUND_WINDOW_DAYS = 30  # the shop's terms: returns within 30 days of delivery
RESTOCKING_FEE = Decimal("0.10")  # opened items keep 10% back


class RefundError(Exception):
    """A refund that the terms do not allow."""


def refund_deadline(delivered_on: date) -> date:
    """The last day a return is accepted."""
    return delivered_on + timedelta(days=REFUND_WINDOW_DAYS)


def refund_amount(invoice: Invoice, opened: bool) -> Decimal:
    """What goes back to the customer: the total, less the restocking fee for opened items."""
    total = invoice.total()
    if opened:
        total -= (total * RESTOCKING_FEE).quantize(Decimal("0.01"))
    return total


def refund_order(invoice: Invoice, delivered_on: date, today: date, opened: bool = False) -> Decimal:
    """Refund an order, or raise RefundError when the return window has closed."""
    if today > refund_deadline(delivered_on):
        raise RefundError(f"the return window closed on {refund_deadline(delivered_on).isoformat()}")
    return refund_amount(invoice, opened)
