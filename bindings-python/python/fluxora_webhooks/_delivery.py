"""What the framework helpers hand to a view once a delivery is verified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ._native import Verification


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
