"""The shopping cart: items, quantities and the checkout that turns a cart into an invoice."""

from __future__ import annotations

from decimal import Decimal

from .billing.invoices import Invoice, Line
from .catalog.products import Catalog

MAX_QUANTITY = 20  # per line: larger orders go through sales


class Cart:
    """Items a customer is about to buy."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.items: dict[str, int] = {}

    def add(self, sku: str, quantity: int = 1) -> None:
        """Add ``quantity`` of a product; the per-line limit is MAX_QUANTITY."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        new = self.items.get(sku, 0) + quantity
        if new > MAX_QUANTITY:
            raise ValueError(f"at most {MAX_QUANTITY} of one product per order")
        self.catalog.get(sku)
        self.items[sku] = new

    def remove(self, sku: str) -> None:
        self.items.pop(sku, None)

    def checkout(self, number: str, country: str, coupon: str | None = None) -> Invoice:
        """Reserve the stock and build the invoice; a coupon takes 5 off orders over 50."""
        lines = []
        for sku, quantity in sorted(self.items.items()):
            product = self.catalog.reserve(sku, quantity)
            lines.append(Line(sku, quantity, product.price))
        invoice = Invoice(number, country, lines)
        if coupon and invoice.subtotal() > Decimal("50"):
            invoice.discount = Decimal("5")
        self.items.clear()
        return invoice
