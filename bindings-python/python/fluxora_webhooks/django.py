"""Django: a view decorator that verifies the raw body before the view runs.

::

    from fluxora_webhooks import Verifier
    from fluxora_webhooks.django import WebhookDelivery, verify_webhook

    @verify_webhook(Verifier(settings.FLUXORA_WEBHOOK_SECRET))
    def receive(request, delivery: WebhookDelivery):
        return JsonResponse({"received": delivery.delivery_id})

The decorator reads ``request.body`` (the exact bytes), exempts the view from CSRF
(a webhook carries a signature, not a CSRF token), answers failures with the outcome's
status and ``{"error": code, "message": message}``, and passes the verified delivery as
the ``delivery`` keyword argument. ``async def`` views are wrapped as async views (use
``AsyncRedisReplayStore`` with them).

Nothing is lost when the view fails: the delivery is reserved (``Verifier.reserve``) while
the view runs, committed when the view answers below 500 (2xx, or 4xx: it was handled,
``Http404`` and ``PermissionDenied`` included) and released when the view raises or answers
5xx, so the sender's retry runs the view again. A concurrent attempt of the same delivery
meanwhile answers 429 ``delivery_in_progress``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ._delivery import WebhookDelivery, error_body, settle, settle_async
from ._native import Reservation, Verifier

View = TypeVar("View", bound=Callable[..., Any])


def _status_of(error: BaseException) -> int:
    """The status Django answers a view's exception with (its own mapping), else 500."""
    if isinstance(error, Http404):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, (BadRequest, SuspiciousOperation)):
        return 400
    return 500


def _rejected(reservation: Reservation) -> JsonResponse:
    return JsonResponse(error_body(reservation.verification), status=reservation.status)


def verify_webhook(verifier: Verifier) -> Callable[[View], View]:
    """Wraps a Django view (sync or async) so it only runs for verified deliveries, and
    never loses one."""

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                body = request.body
                reservation = await verifier.reserve_async(body, request.headers)
                if not reservation.ok:
                    return _rejected(reservation)
                delivery = WebhookDelivery(reservation.verification, body)
                try:
                    response = await view(request, *args, delivery=delivery, **kwargs)
                except BaseException as error:
                    await settle_async(reservation, _status_of(error))
                    raise
                await settle_async(reservation, response.status_code)
                return response

            async_wrapper.csrf_exempt = True  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            body = request.body
            reservation = verifier.reserve(body, request.headers)
            if not reservation.ok:
                return _rejected(reservation)
            delivery = WebhookDelivery(reservation.verification, body)
            try:
                response = view(request, *args, delivery=delivery, **kwargs)
            except BaseException as error:
                settle(reservation, _status_of(error))
                raise
            settle(reservation, response.status_code)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["WebhookDelivery", "verify_webhook"]
