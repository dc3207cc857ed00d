"""What the framework helpers hand to a view once a delivery is verified, and how they
settle its reservation once the view answered."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ._native import Reservation, Verification

logger = logging.getLogger("fluxora_webhooks")


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified delivery: the outcome and the raw body exactly as received."""

    verification: Verification
    body: bytes

    @property
    def delivery_id(self) -> Optional[str]:
        """The ``x-fluxora-delivery-id`` header."""
        return self.verification.delivery_id

    @property
    def event(self) -> Optional[str]:
        """The ``x-fluxora-event`` header. NOT signed: route on the signed body instead."""
        return self.verification.event

    def json(self) -> Any:
        """The body parsed as JSON (after verification, never before)."""
        return json.loads(self.body)


def error_body(verification: Verification) -> Dict[str, str]:
    """The failure answer every helper sends: ``{"error": code, "message": message}``."""
    return {"error": verification.code, "message": verification.message}


def _settle_failed(reservation: Reservation, status: int) -> None:
    # The answer stands: the reservation's lease frees the delivery id when it ends, so the
    # sender's next retry is processed (at least once) rather than lost.
    logger.exception(
        "fluxora_webhooks: could not settle delivery %r for the answer %d in the replay "
        "store; its reservation expires with its lease",
        reservation.verification.delivery_id,
        status,
    )


def settle(reservation: Reservation, status: int) -> None:
    """Commits the reservation for an answer below 500, releases it for a 5xx answer (or
    an exception: pass 500). A store error is logged, never raised over the answer."""
    try:
        reservation.settle(status)
    except Exception:
        _settle_failed(reservation, status)


async def settle_async(reservation: Reservation, status: int) -> None:
    """``settle`` for asyncio receivers (an asyncio store's I/O is awaited)."""
    try:
        await reservation.settle_async(status)
    except Exception:
        _settle_failed(reservation, status)
