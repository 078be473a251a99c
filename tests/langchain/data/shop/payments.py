"""Charging a card through the payment gateway, with retries."""

from __future__ import annotations

import random
import time

RETRYABLE_STATUS = {429, 502, 503, 504}
BASE_DELAY_SECONDS = 0.5


class PaymentDeclined(Exception):
    """The card issuer refused the charge."""


class GatewayClient:
    """A thin client of the payment gateway's HTTP API."""

    def __init__(self, session, api_url: str, max_attempts: int = 4) -> None:
        self.session = session
        self.api_url = api_url
        self.max_attempts = max_attempts

    def charge(self, card_token: str, amount_cents: int) -> str:
        """Charge ``amount_cents`` to the card; return the gateway's transaction id."""
        for attempt in range(self.max_attempts):
            response = self.session.post(
                f"{self.api_url}/charges", json={"card": card_token, "amount": amount_cents}
            )
            if response.status_code == 402:
                raise PaymentDeclined(response.json()["reason"])
            if response.status_code not in RETRYABLE_STATUS:
                response.raise_for_status()
                return response.json()["transaction_id"]
            time.sleep(backoff_delay(attempt))
        raise RuntimeError("payment gateway unavailable after retries")

    def refund(self, transaction_id: str) -> None:
        """Refund a previous charge in full."""
        self.session.post(f"{self.api_url}/refunds", json={"transaction": transaction_id})


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt``: exponential with full jitter."""
    return random.uniform(0, BASE_DELAY_SECONDS * 2**attempt)
