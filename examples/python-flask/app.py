"""A Fluxora webhook receiver on Flask.

Run:  FLUXORA_WEBHOOK_SECRET=... python app.py --port 8000
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Dict

from flask import Flask

from fluxora_webhooks import Verifier, parse_amount
from fluxora_webhooks.flask import WebhookDelivery, verify_webhook

verifier = Verifier(
    os.environ.get("FLUXORA_WEBHOOK_SECRET", ""),
    previous_secret=os.environ.get("FLUXORA_WEBHOOK_PREVIOUS_SECRET") or None,
)
app = Flask(__name__)


@app.post("/webhooks/fluxora")
@verify_webhook(verifier)
def receive(delivery: WebhookDelivery) -> Dict[str, Any]:
    event = delivery.json()  # parsed only after the raw bytes were verified
    amount = event.get("amount")
    return {
        "received": delivery.delivery_id,
        "event": event.get("event"),
        "amount": parse_amount(amount, "amount") if amount is not None else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    from werkzeug.serving import run_simple

    run_simple(options.host, options.port, app, threaded=True)
