"""The product catalog: lookup, search and stock levels."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    price: Decimal
    stock: int = 0

    def in_stock(self) -> bool:
        return self.stock > 0


class Catalog:
    """Products by SKU, with a case-insensitive title search."""

    def __init__(self, products: list[Product]) -> None:
        self._by_sku = {p.sku: p for p in products}

    def get(self, sku: str) -> Product:
        """The product with this SKU; KeyError names the SKU when there is none."""
        try:
            return self._by_sku[sku]
        except KeyError:
            raise KeyError(f"unknown SKU {sku!r}") from None

    def search(self, words: str) -> list[Product]:
        """Products whose title holds every word, in SKU order."""
        wanted = words.lower().split()
        found = [p for p in self._by_sku.values() if all(w in p.title.lower() for w in wanted)]
        return sorted(found, key=lambda p: p.sku)

    def reserve(self, sku: str, quantity: int) -> Product:
        """Take ``quantity`` items out of stock; ValueError when there are not enough."""
        product = self.get(sku)
        if quantity > product.stock:
            raise ValueError(f"only {product.stock} of {sku} left")
        updated = Product(product.sku, product.title, product.price, product.stock - quantity)
        self._by_sku[sku] = updated
        return updated
