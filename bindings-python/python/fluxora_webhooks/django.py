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
the ``delivery`` keyword argument.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ._delivery import WebhookDelivery, error_body
from ._native import Verifier

View = TypeVar("View", bound=Callable[..., Any])


def verify_webhook(verifier: Verifier) -> Callable[[View], View]:
    """Wraps a Django view so it only runs for verified deliveries."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            body = request.body
            verification = verifier.verify(body, request.headers)
            if not verification.ok:
                return JsonResponse(error_body(verification), status=verification.status)
            return view(request, *args, delivery=WebhookDelivery(verification, body), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["WebhookDelivery", "verify_webhook"]
