"""FastAPI / Starlette: a dependency (and a plain Starlette endpoint decorator) that
verifies the raw body before the route runs, without blocking the event loop.

::

    from fastapi import Depends, FastAPI
    from fluxora_webhooks import AsyncRedisReplayStore, Verifier
    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install

    app = FastAPI()
    install(app)  # the error answers, and settling each delivery by the final status
    verified = WebhookDependency(Verifier(secret))  # or replay_store=AsyncRedisReplayStore(...)

    @app.post("/webhooks/fluxora")
    async def receive(delivery: WebhookDelivery = Depends(verified)) -> dict:
        return {"received": delivery.delivery_id}

The route must not declare a body model: the dependency reads the request's stream, the
exact bytes that were signed, and stops at the verifier's ``max_body_bytes`` (413) instead
of reading a larger body first. ``await request.body()`` and ``delivery.json()`` work
afterwards.

Nothing is lost when the route fails: the delivery is reserved (``Verifier.reserve_async``)
while the route runs, committed when the application answers below 500 (2xx, or 4xx: it was
handled) and released when the route raises or the application answers 5xx, so the sender's
retry runs the route again. A concurrent attempt of the same delivery meanwhile answers 429
``delivery_in_progress``. With ``install(app)`` the settlement follows the status actually
sent (a route returning ``Response(status_code=503)`` releases); without it the dependency
settles by itself: it releases when the route raises (an ``HTTPException`` below 500
commits) and commits otherwise.
"""

from __future__ import annotations

import functools
from typing import Any, AsyncIterator, Awaitable, Callable, List, MutableMapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._delivery import WebhookDelivery, error_body, settle_async
from ._native import Reservation, Verification, Verifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The scope key under which `WebhookSettlementMiddleware` collects the request's
# reservations for the dependency to hand over.
_HELD = "fluxora_webhooks.reservations"


class WebhookRejected(HTTPException):
    """Raised by the dependency for a delivery that failed verification.

    Carries the outcome's status; ``install_error_handler`` answers it with
    ``{"error": code, "message": message}``. Without it, FastAPI's default handler
    still answers the right status, with that same object under ``"detail"``.
    """

    def __init__(self, verification: Verification) -> None:
        super().__init__(status_code=verification.status, detail=error_body(verification))
        self.verification = verification


async def read_body(request: Request, max_body_bytes: int) -> bytes:
    """The request's body, read from its stream; reading stops once it is longer than
    ``max_body_bytes`` (the verifier then answers ``payload_too_large``). A body read in
    full stays available to ``await request.body()``."""
    chunks: List[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_body_bytes:
            return b"".join(chunks)
    body = b"".join(chunks)
    request._body = body  # what `Request.body()` caches: later reads answer these bytes
    return body


def _status_of(error: BaseException) -> int:
    """The status Starlette answers an exception with: an HTTP error's own, else 500."""
    if isinstance(error, HTTPException):
        return error.status_code
    return 500


class WebhookDependency:
    """A FastAPI dependency: verifies and reserves the delivery, hands the route a
    ``WebhookDelivery``, and commits or releases the reservation once the route is done."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def __call__(self, request: Request) -> AsyncIterator[WebhookDelivery]:
        body = await read_body(request, self.verifier.max_body_bytes)
        reservation = await self.verifier.reserve_async(body, request.headers)
        if not reservation.ok:
            raise WebhookRejected(reservation.verification)
        delivery = WebhookDelivery(reservation.verification, body)
        held = request.scope.get(_HELD)
        if isinstance(held, list):
            # `WebhookSettlementMiddleware` settles it by the status actually sent.
            held.append(reservation)
            yield delivery
            return
        try:
            yield delivery
        except BaseException as error:
            await settle_async(reservation, _status_of(error))
            raise
        await settle_async(reservation, 200)  # the route returned: the delivery was handled


class WebhookSettlementMiddleware:
    """ASGI middleware (added by ``install``): settles the reservations a request's
    ``WebhookDependency`` made by the status the application sent. Commits below 500,
    releases on 5xx, or when the application raised before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: List[Reservation] = []
        scope[_HELD] = held

        async def settle_all(status: int) -> None:
            while held:
                await settle_async(held.pop(), status)

        async def send_settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Settled before the answer leaves: a retry that races it sees the result.
                await settle_all(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_settled)
        except BaseException:
            await settle_all(500)
            raise
        await settle_all(500)  # an application that never answered


def webhook_endpoint(
    verifier: Verifier,
) -> Callable[[Callable[[Request, WebhookDelivery], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]:
    """For a plain Starlette route: wraps ``async def endpoint(request, delivery) -> Response``
    so it only runs for verified deliveries, and never loses one (committed when it answers
    below 500, released when it raises or answers 5xx)."""

    def decorate(
        endpoint: Callable[[Request, WebhookDelivery], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            body = await read_body(request, verifier.max_body_bytes)
            reservation = await verifier.reserve_async(body, request.headers)
            if not reservation.ok:
                return JSONResponse(error_body(reservation.verification), status_code=reservation.status)
            try:
                response = await endpoint(request, WebhookDelivery(reservation.verification, body))
            except BaseException as error:
                await settle_async(reservation, _status_of(error))
                raise
            await settle_async(reservation, response.status_code)
            return response

        return wrapper

    return decorate


async def webhook_error_handler(request: Request, exc: Exception) -> Response:
    """Answers a ``WebhookRejected`` with the outcome's status and JSON error body."""
    if isinstance(exc, WebhookRejected):
        return JSONResponse(error_body(exc.verification), status_code=exc.verification.status)
    raise exc


def install(app: Any) -> None:
    """Sets up a FastAPI or Starlette app (before it starts): ``webhook_error_handler`` for
    ``WebhookRejected``, and ``WebhookSettlementMiddleware``."""
    app.add_exception_handler(WebhookRejected, webhook_error_handler)
    app.add_middleware(WebhookSettlementMiddleware)


def install_error_handler(app: Any) -> None:
    """``install``, under its earlier name (it now adds the settlement middleware too)."""
    install(app)


__all__ = [
    "WebhookDelivery",
    "WebhookDependency",
    "WebhookRejected",
    "WebhookSettlementMiddleware",
    "install",
    "install_error_handler",
    "read_body",
    "webhook_endpoint",
    "webhook_error_handler",
]
