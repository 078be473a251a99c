"""Shopping cart: line items, totals and discount codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .pricing import apply_discount, tax_for

MAX_QUANTITY = 99


@dataclass
class LineItem:
    """One product in the cart with its quantity."""

    sku: str
    unit_price: Decimal
    quantity: int = 1

    def subtotal(self) -> Decimal:
        """Price of this line before discounts and tax."""
        return self.unit_price * self.quantity


@dataclass
class Cart:
    """The items a customer is about to buy."""

    items: list[LineItem] = field(default_factory=list)
    discount_code: str | None = None

    def add_item(self, sku: str, unit_price: Decimal, quantity: int = 1) -> None:
        """Add ``quantity`` of a product, merging with an existing line for the same sku."""
        if quantity < 1 or quantity > MAX_QUANTITY:
            raise ValueError(f"quantity must be between 1 and {MAX_QUANTITY}")
        for item in self.items:
            if item.sku == sku:
                item.quantity += quantity
                return
        self.items.append(LineItem(sku, unit_price, quantity))

    def remove_item(self, sku: str) -> None:
        """Remove the line for ``sku``; a missing sku is ignored."""
        self.items = [item for item in self.items if item.sku != sku]

    def total(self, region: str) -> Decimal:
        """Amount to charge: subtotal, minus the discount code, plus the region's tax."""
        subtotal = sum((item.subtotal() for item in self.items), Decimal("0"))
        discounted = apply_discount(subtotal, self.discount_code)
        return discounted + tax_for(discounted, region)
