"""Flask: a view decorator that verifies the raw body before the view runs.

::

    from flask import Flask
    from fluxora_webhooks import Verifier
    from fluxora_webhooks.flask import WebhookDelivery, verify_webhook

    app = Flask(__name__)

    @app.post("/webhooks/fluxora")
    @verify_webhook(Verifier(secret))
    def receive(delivery: WebhookDelivery):
        return {"received": delivery.delivery_id}

The decorator reads ``request.get_data()`` (the exact bytes, never ``request.json``)
and answers failures with the outcome's status and ``{"error": code, "message": message}``.
The verified delivery is passed to the view as the ``delivery`` keyword argument.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import jsonify, request

from ._delivery import WebhookDelivery, error_body
from ._native import Verifier

View = TypeVar("View", bound=Callable[..., Any])


def verify_webhook(verifier: Verifier) -> Callable[[View], View]:
    """Wraps a Flask view so it only runs for verified deliveries."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = request.get_data(cache=True)
            verification = verifier.verify(body, request.headers)
            if not verification.ok:
                return jsonify(error_body(verification)), verification.status
            return view(*args, delivery=WebhookDelivery(verification, body), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["WebhookDelivery", "verify_webhook"]
