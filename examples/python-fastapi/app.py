"""A Fluxora webhook receiver on FastAPI.

Run:  FLUXORA_WEBHOOK_SECRET=... uvicorn app:app --port 8000
      (several workers or hosts: also FLUXORA_REDIS_URL=redis://127.0.0.1:6379/0, and
      optionally FLUXORA_REDIS_PREFIX, default "fluxora:replay:")

Nothing is lost when the route fails: the delivery is reserved while the route runs,
committed when the answer is below 500 and released when the route raises or answers 5xx,
so the sender's retry runs it again (see "What happens when my handler fails" in
bindings-python/README.md).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from fluxora_webhooks import REDIS_DEFAULT_PREFIX, AsyncRedisReplayStore, DecimalError, Verifier, parse_amount
from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install


def replay_store() -> Optional[AsyncRedisReplayStore]:
    """Redis (asyncio: never blocks the event loop) when configured, else in memory."""
    url = os.environ.get("FLUXORA_REDIS_URL")
    if not url:
        return None
    import redis.asyncio

    prefix = os.environ.get("FLUXORA_REDIS_PREFIX") or REDIS_DEFAULT_PREFIX
    return AsyncRedisReplayStore(redis.asyncio.Redis.from_url(url), prefix=prefix)


verifier = Verifier(
    os.environ.get("FLUXORA_WEBHOOK_SECRET", ""),
    previous_secret=os.environ.get("FLUXORA_WEBHOOK_PREVIOUS_SECRET") or None,
    replay_store=replay_store(),
)
verified = WebhookDependency(verifier)

app = FastAPI()
install(app)  # error answers, and commit / release by the status actually sent


@app.post("/webhooks/fluxora", response_model=None)
async def receive(delivery: WebhookDelivery = Depends(verified)) -> Any:
    event = delivery.json()  # parsed only after the raw bytes were verified
    amount = event.get("amount")
    try:
        normalized = parse_amount(amount, "amount") if amount is not None else None
    except DecimalError as error:
        # Handled (4xx): committed, so a retry of this delivery is a duplicate, not a loop.
        return JSONResponse({"error": error.code, "message": error.message}, status_code=422)
    answer: Dict[str, Any] = {"received": delivery.delivery_id, "event": event.get("event"), "amount": normalized}
    return answer
