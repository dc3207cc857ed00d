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

Nothing is lost when the view fails: the delivery is reserved (``Verifier.reserve``) while
the view runs, committed when the view answers below 500 (2xx, or 4xx: it was handled,
``abort(4xx)`` included) and released when the view raises or answers 5xx, so the sender's
retry runs the view again. A concurrent attempt of the same delivery meanwhile answers 429
``delivery_in_progress``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ._delivery import WebhookDelivery, error_body, settle
from ._native import Verifier

View = TypeVar("View", bound=Callable[..., Any])


def _status_of(error: BaseException) -> int:
    """The status Flask answers a view's exception with: an HTTP error's own, else 500."""
    if isinstance(error, HTTPException):
        if error.code is not None:
            return error.code
        if error.response is not None:
            return int(error.response.status_code)
    return 500


def verify_webhook(verifier: Verifier) -> Callable[[View], View]:
    """Wraps a Flask view so it only runs for verified deliveries, and never loses one."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = request.get_data(cache=True)
            reservation = verifier.reserve(body, request.headers)
            if not reservation.ok:
                return jsonify(error_body(reservation.verification)), reservation.status
            delivery = WebhookDelivery(reservation.verification, body)
            try:
                response = current_app.make_response(view(*args, delivery=delivery, **kwargs))
            except BaseException as error:
                settle(reservation, _status_of(error))
                raise
            settle(reservation, response.status_code)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["WebhookDelivery", "verify_webhook"]
