"""A Fluxora webhook receiver on FastAPI.

Run:  FLUXORA_WEBHOOK_SECRET=... uvicorn app:app --port 8000
"""

from __future__ import annotations

import os
from typing import Any, Dict

from fastapi import Depends, FastAPI

from fluxora_webhooks import Verifier, parse_amount
from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install_error_handler

verifier = Verifier(
    os.environ.get("FLUXORA_WEBHOOK_SECRET", ""),
    previous_secret=os.environ.get("FLUXORA_WEBHOOK_PREVIOUS_SECRET") or None,
)
verified = WebhookDependency(verifier)

app = FastAPI()
install_error_handler(app)


@app.post("/webhooks/fluxora")
async def receive(delivery: WebhookDelivery = Depends(verified)) -> Dict[str, Any]:
    event = delivery.json()  # parsed only after the raw bytes were verified
    amount = event.get("amount")
    return {
        "received": delivery.delivery_id,
        "event": event.get("event"),
        "amount": parse_amount(amount, "amount") if amount is not None else None,
    }
