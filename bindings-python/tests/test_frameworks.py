"""FastAPI/Starlette, Flask and Django helpers, each through its framework's test client."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

import fluxora_webhooks as fw

SECRET = "framework-secret"
# Not compact JSON: a helper that re-serialized the parsed body would change the bytes.
PAYLOAD = b'{ "event": "stream.updated",  "amount": "100.50", "note": "caf\xc3\xa9" }'


def signed(delivery_id: str = "dlv_1", body: bytes = PAYLOAD) -> Dict[str, str]:
    headers = fw.sign(SECRET, body, delivery_id=delivery_id, event="stream.updated")
    headers["Content-Type"] = "application/json"
    return headers


def _check_failures(post: Any) -> None:
    unsigned = post({"Content-Type": "application/json"}, PAYLOAD)
    assert unsigned[0] == 401
    assert unsigned[1] == {"error": "missing_delivery_id", "message": "Missing x-fluxora-delivery-id header"}
    tampered = post(signed("dlv_t"), PAYLOAD.replace(b"100.50", b"999.99"))
    assert tampered == (401, {"error": "signature_mismatch", "message": "Webhook signature verification failed"})
    other = PAYLOAD + b" "  # a different delivery: same second, different signed bytes
    assert post(signed("dlv_a", other), other)[0] == 200
    again = post(signed("dlv_a", other), other)
    assert again == (409, {"error": "duplicate_delivery", "message": "Duplicate delivery id"})


def test_fastapi_dependency() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install_error_handler

    app = FastAPI()
    install_error_handler(app)
    verified = WebhookDependency(fw.Verifier(SECRET))

    @app.post("/hook")
    async def hook(delivery: WebhookDelivery = Depends(verified)) -> Dict[str, Any]:
        return {"id": delivery.delivery_id, "event": delivery.event, "amount": delivery.json()["amount"]}

    client = TestClient(app)
    response = client.post("/hook", content=PAYLOAD, headers=signed())
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "dlv_1", "event": "stream.updated", "amount": "100.50"}
    # A client that serializes a JSON object itself (json=...) is verified on its exact bytes.
    body = {"event": "stream.created", "amount": "1"}
    raw = json.dumps(body).encode()
    response = client.post("/hook", content=raw, headers=signed("dlv_json", raw))
    assert response.status_code == 200, response.text

    def post(headers: Dict[str, str], body: bytes) -> Any:
        result = client.post("/hook", content=body, headers=headers)
        return result.status_code, result.json()

    _check_failures(post)


def test_fastapi_without_the_handler_still_answers_the_status_and_code() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency

    app = FastAPI()
    verified = WebhookDependency(fw.Verifier(SECRET))

    @app.post("/hook")
    async def hook(delivery: WebhookDelivery = Depends(verified)) -> Dict[str, Any]:
        return {}

    response = TestClient(app).post("/hook", content=PAYLOAD, headers={"x-fluxora-delivery-id": "x"})
    assert response.status_code == 401
    assert response.json() == {
        "detail": {"error": "missing_timestamp", "message": "Missing x-fluxora-timestamp header"}
    }


def test_flask_decorator() -> None:
    from flask import Flask

    from fluxora_webhooks.flask import WebhookDelivery, verify_webhook

    app = Flask(__name__)

    @app.post("/hook")
    @verify_webhook(fw.Verifier(SECRET))
    def hook(delivery: WebhookDelivery) -> Any:
        from flask import request

        parsed = request.get_json()  # the framework's own parse still works afterwards
        return {"id": delivery.delivery_id, "amount": parsed["amount"]}

    client = app.test_client()
    response = client.post("/hook", data=PAYLOAD, headers=signed())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"id": "dlv_1", "amount": "100.50"}

    def post(headers: Dict[str, str], body: bytes) -> Any:
        result = client.post("/hook", data=body, headers=headers)
        return result.status_code, result.get_json()

    _check_failures(post)


urlpatterns: list = []


def test_django_view_decorator(django_configured: None) -> None:
    from django.http import HttpRequest, JsonResponse
    from django.test import Client, override_settings
    from django.urls import path

    from fluxora_webhooks.django import WebhookDelivery, verify_webhook

    @verify_webhook(fw.Verifier(SECRET))
    def hook(request: HttpRequest, delivery: WebhookDelivery) -> JsonResponse:
        return JsonResponse({"id": delivery.delivery_id, "amount": delivery.json()["amount"]})

    urlpatterns[:] = [path("hook", hook)]
    client = Client(enforce_csrf_checks=True)
    urls = override_settings(ROOT_URLCONF=__name__)
    urls.enable()

    def post(headers: Dict[str, str], body: bytes) -> Any:
        result = client.post("/hook", data=body, content_type="application/json", headers=headers)
        return result.status_code, json.loads(result.content)

    try:
        status, answer = post({k: v for k, v in signed().items() if k != "Content-Type"}, PAYLOAD)
        assert (status, answer) == (200, {"id": "dlv_1", "amount": "100.50"})
        _check_failures(lambda headers, body: post({k: v for k, v in headers.items() if k != "Content-Type"}, body))
    finally:
        urls.disable()
