"""A Fluxora webhook receiver on Flask.

Run:  FLUXORA_WEBHOOK_SECRET=... python app.py --port 8000
      (several workers or hosts: also FLUXORA_REDIS_URL=redis://127.0.0.1:6379/0, and
      optionally FLUXORA_REDIS_PREFIX, default "fluxora:replay:")

Nothing is lost when the view fails: the delivery is reserved while the view runs,
committed when the answer is below 500 and released when the view raises or answers 5xx,
so the sender's retry runs it again (see "What happens when my handler fails" in
bindings-python/README.md).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional

from flask import Flask

from fluxora_webhooks import REDIS_DEFAULT_PREFIX, DecimalError, RedisReplayStore, Verifier, parse_amount
from fluxora_webhooks.flask import WebhookDelivery, verify_webhook


def replay_store() -> Optional[RedisReplayStore]:
    """Redis when configured (shared by every worker process), else in memory."""
    url = os.environ.get("FLUXORA_REDIS_URL")
    if not url:
        return None
    import redis

    prefix = os.environ.get("FLUXORA_REDIS_PREFIX") or REDIS_DEFAULT_PREFIX
    return RedisReplayStore(redis.Redis.from_url(url), prefix=prefix)


verifier = Verifier(
    os.environ.get("FLUXORA_WEBHOOK_SECRET", ""),
    previous_secret=os.environ.get("FLUXORA_WEBHOOK_PREVIOUS_SECRET") or None,
    replay_store=replay_store(),
)
app = Flask(__name__)


@app.post("/webhooks/fluxora")
@verify_webhook(verifier)
def receive(delivery: WebhookDelivery) -> Any:
    event = delivery.json()  # parsed only after the raw bytes were verified
    amount = event.get("amount")
    try:
        normalized = parse_amount(amount, "amount") if amount is not None else None
    except DecimalError as error:
        # Handled (4xx): committed, so a retry of this delivery is a duplicate, not a loop.
        return {"error": error.code, "message": error.message}, 422
    return {"received": delivery.delivery_id, "event": event.get("event"), "amount": normalized}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    from werkzeug.serving import run_simple

    run_simple(options.host, options.port, app, threaded=True)
