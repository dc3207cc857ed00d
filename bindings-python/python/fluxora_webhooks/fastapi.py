"""FastAPI / Starlette: a dependency that verifies the raw body before the route runs.

::

    from fastapi import Depends, FastAPI
    from fluxora_webhooks import Verifier
    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install_error_handler

    app = FastAPI()
    install_error_handler(app)
    verified = WebhookDependency(Verifier(secret))

    @app.post("/webhooks/fluxora")
    async def receive(delivery: WebhookDelivery = Depends(verified)) -> dict:
        return {"received": delivery.delivery_id}

The route must not declare a body model: the dependency reads ``await request.body()``,
the exact bytes that were signed, and the route parses ``delivery.json()`` afterwards.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._delivery import WebhookDelivery, error_body
from ._native import Verification, Verifier


class WebhookRejected(HTTPException):
    """Raised by the dependency for a delivery that failed verification.

    Carries the outcome's status; ``install_error_handler`` answers it with
    ``{"error": code, "message": message}``. Without it, FastAPI's default handler
    still answers the right status, with that same object under ``"detail"``.
    """

    def __init__(self, verification: Verification) -> None:
        super().__init__(status_code=verification.status, detail=error_body(verification))
        self.verification = verification


class WebhookDependency:
    """A FastAPI dependency (or a helper for a plain Starlette endpoint)."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def __call__(self, request: Request) -> WebhookDelivery:
        body = await request.body()
        verification = self.verifier.verify(body, request.headers)
        if not verification.ok:
            raise WebhookRejected(verification)
        return WebhookDelivery(verification, body)


async def webhook_error_handler(request: Request, exc: Exception) -> Response:
    """Answers a ``WebhookRejected`` with the outcome's status and JSON error body."""
    if isinstance(exc, WebhookRejected):
        return JSONResponse(error_body(exc.verification), status_code=exc.verification.status)
    raise exc


def install_error_handler(app: Any) -> None:
    """Registers ``webhook_error_handler`` on a FastAPI or Starlette app."""
    app.add_exception_handler(WebhookRejected, webhook_error_handler)


__all__ = [
    "WebhookDelivery",
    "WebhookDependency",
    "WebhookRejected",
    "install_error_handler",
    "webhook_error_handler",
]
