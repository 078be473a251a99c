from .invoices import Invoice, render_invoice
from .refunds import RefundError, refund_order

__all__ = ["Invoice", "render_invoice", "RefundError", "refund_order"]
