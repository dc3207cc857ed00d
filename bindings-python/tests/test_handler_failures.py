"""Receivers that lose nothing: every framework helper, through its own test client, with the
in-memory store, the Redis store and (asyncio receivers) the asyncio Redis store.

For each: a handler that raises answers 5xx and the sender's retry runs the handler again
(200), the next retry is a duplicate (409); a handler answering 503 likewise; a handler
answering 4xx handled the delivery (the retry is a duplicate); two concurrent attempts of
one delivery run the handler once, the other answers 429 ``delivery_in_progress``; a
process killed between reserve and commit (a subprocess that reserves in Redis, then
``os._exit``s) leaves a reservation whose lease runs out, and the retry after it is
processed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from starlette.requests import Request as StarletteRequest

import fluxora_webhooks as fw
from conftest import REDIS_URL, redis_keys

SECRET = "handler-secret"
IN_PROGRESS = {"error": "delivery_in_progress", "message": "Delivery is being processed; retry later"}
DUPLICATE = {"error": "duplicate_delivery", "message": "Duplicate delivery id"}
LEASE = 2  # seconds, for the process-killed tests

Answer = Tuple[int, Optional[Dict[str, Any]]]


def body_of(delivery_id: str) -> bytes:
    """Each delivery's own body (two deliveries signed in one second must differ in bytes,
    or the second would be a replayed signature)."""
    return json.dumps({"event": "stream.updated", "amount": "1.50", "delivery": delivery_id}).encode()


def attempt(delivery_id: str) -> Dict[str, str]:
    """One attempt's headers: a sender signs every retry afresh, under the same id."""
    headers = fw.sign(SECRET, body_of(delivery_id), delivery_id=delivery_id, event="stream.updated")
    headers["Content-Type"] = "application/json"
    return headers


def body_for(headers: Dict[str, str]) -> bytes:
    return body_of(headers.get(fw.HEADER_DELIVERY_ID, ""))


def parsed(status: int, content: bytes) -> Answer:
    try:
        answer = json.loads(content)
    except ValueError:
        return status, None
    if isinstance(answer, dict) and isinstance(answer.get("detail"), dict):
        answer = answer["detail"]  # FastAPI's default handler, without install(app)
    return status, answer


class Behaviour:
    """What the test's handler does on each call: the next planned action, else "ok"."""

    def __init__(self) -> None:
        self.plan: List[str] = []
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.async_gate: Optional[asyncio.Event] = None

    def next(self) -> str:
        self.calls += 1
        return self.plan.pop(0) if self.plan else "ok"


# -- the scenarios, for any receiver: `post(headers) -> (status, json)` -------------------


def handler_failure_then_retry(post: Callable[[Dict[str, str]], Answer], behaviour: Behaviour, action: str, failed: int) -> None:
    delivery_id = f"dlv_{action}"
    behaviour.plan = [action]
    assert post(attempt(delivery_id))[0] == failed
    assert behaviour.calls == 1
    assert post(attempt(delivery_id)) == (200, {"received": delivery_id})
    assert behaviour.calls == 2  # the retry ran the handler again
    assert post(attempt(delivery_id)) == (409, DUPLICATE)
    assert behaviour.calls == 2


def handled_with_4xx(post: Callable[[Dict[str, str]], Answer], behaviour: Behaviour) -> None:
    behaviour.plan = ["422"]
    assert post(attempt("dlv_4xx"))[0] == 422
    assert post(attempt("dlv_4xx")) == (409, DUPLICATE)
    assert behaviour.calls == 1


def rejected_never_reserves(post: Callable[[Dict[str, str]], Answer], behaviour: Behaviour) -> None:
    forged = {**attempt("dlv_forged"), fw.HEADER_SIGNATURE: "0" * 64}
    assert post(forged)[0] == 401
    assert post(attempt("dlv_forged"))[0] == 200  # the forgery left nothing behind
    assert behaviour.calls == 1


def concurrent_attempts_in_threads(post: Callable[[Dict[str, str]], Answer], behaviour: Behaviour) -> None:
    behaviour.plan = ["block"]
    first: Dict[str, Answer] = {}
    thread = threading.Thread(target=lambda: first.update(answer=post(attempt("dlv_twice"))))
    thread.start()
    try:
        assert behaviour.entered.wait(10), "the first attempt never reached the handler"
        assert post(attempt("dlv_twice")) == (429, IN_PROGRESS)
    finally:
        behaviour.gate.set()
        thread.join(10)
    assert first["answer"] == (200, {"received": "dlv_twice"})
    assert behaviour.calls == 1
    assert post(attempt("dlv_twice")) == (409, DUPLICATE)


async def concurrent_attempts_in_tasks(post: Callable[[Dict[str, str]], Awaitable[Answer]], behaviour: Behaviour) -> None:
    behaviour.plan = ["block"]
    behaviour.async_gate = asyncio.Event()
    first = asyncio.ensure_future(post(attempt("dlv_twice")))
    for _ in range(500):
        if behaviour.entered.is_set():
            break
        await asyncio.sleep(0.01)
    assert behaviour.entered.is_set(), "the first attempt never reached the handler"
    assert await post(attempt("dlv_twice")) == (429, IN_PROGRESS)
    behaviour.async_gate.set()
    assert await first == (200, {"received": "dlv_twice"})
    assert behaviour.calls == 1
    assert await post(attempt("dlv_twice")) == (409, DUPLICATE)


# A sender's attempt handled by a process that is then killed: it reserves, then exits
# without committing or releasing.
KILLED = """
import json, os, sys
import redis
import fluxora_webhooks as fw
url, prefix, secret, headers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = fw.RedisReplayStore(redis.Redis.from_url(url), prefix=prefix)
verifier = fw.Verifier(secret, replay_store=store, reservation_lease_seconds=int(sys.argv[5]))
print(verifier.reserve(sys.argv[6].encode(), headers).code, flush=True)
os._exit(0)
"""


def killed_between_reserve_and_commit(prefix: str, delivery_id: str) -> float:
    """Runs the killed process; answers when (monotonic) its reservation was made."""
    result = subprocess.run(
        [sys.executable, "-c", KILLED, REDIS_URL, prefix, SECRET, json.dumps(attempt(delivery_id)), str(LEASE), body_of(delivery_id).decode()],
        capture_output=True, text=True, timeout=60, cwd="/",
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
    return time.monotonic()


def retried_after_the_lease(post: Callable[[Dict[str, str]], Answer], behaviour: Behaviour, prefix: str) -> None:
    reserved = killed_between_reserve_and_commit(prefix, "dlv_killed")
    assert post(attempt("dlv_killed")) == (429, IN_PROGRESS)
    while True:
        answer = post(attempt("dlv_killed"))
        if answer[0] != 429 or time.monotonic() - reserved > LEASE + 4:
            break
        time.sleep(0.2)
    assert answer == (200, {"received": "dlv_killed"})
    assert time.monotonic() - reserved >= LEASE - 1  # not before the lease ran out
    assert behaviour.calls == 1
    assert post(attempt("dlv_killed")) == (409, DUPLICATE)


async def retried_after_the_lease_async(post: Callable[[Dict[str, str]], Awaitable[Answer]], behaviour: Behaviour, prefix: str) -> None:
    reserved = killed_between_reserve_and_commit(prefix, "dlv_killed")
    assert await post(attempt("dlv_killed")) == (429, IN_PROGRESS)
    while True:
        answer = await post(attempt("dlv_killed"))
        if answer[0] != 429 or time.monotonic() - reserved > LEASE + 4:
            break
        await asyncio.sleep(0.2)
    assert answer == (200, {"received": "dlv_killed"})
    assert time.monotonic() - reserved >= LEASE - 1
    assert behaviour.calls == 1
    assert await post(attempt("dlv_killed")) == (409, DUPLICATE)


# -- stores ---------------------------------------------------------------------------------

SYNC_STORES = ["memory", "redis"]
ASYNC_STORES = ["memory", "redis", "redis-asyncio"]


@pytest.fixture
def store_factory(request: pytest.FixtureRequest) -> Callable[[str], Tuple[Any, str]]:
    """`make(kind)`: a replay store of that kind and its Redis prefix (or ""). For
    "redis-asyncio" it answers the `redis.asyncio` module: an asyncio client belongs to one
    event loop, so the test makes it (and the store) inside its own loop."""

    def make(kind: str) -> Tuple[Any, str]:
        if kind == "memory":
            return fw.MemoryReplayStore(), ""
        client = request.getfixturevalue("redis_client")  # skips, saying why, without Redis
        prefix = request.getfixturevalue("redis_prefix")
        if kind == "redis":
            return fw.RedisReplayStore(client, prefix=prefix), prefix
        import redis.asyncio

        return redis.asyncio, prefix

    return make


def verifier_for(store: Any) -> fw.Verifier:
    return fw.Verifier(SECRET, replay_store=store, reservation_lease_seconds=LEASE)


# -- Flask ----------------------------------------------------------------------------------


def flask_post(verifier: fw.Verifier, behaviour: Behaviour) -> Callable[[Dict[str, str]], Answer]:
    from flask import Flask, abort

    from fluxora_webhooks.flask import WebhookDelivery, verify_webhook

    app = Flask(__name__)

    @app.post("/hook")
    @verify_webhook(verifier)
    def hook(delivery: WebhookDelivery) -> Any:
        action = behaviour.next()
        if action == "raise":
            raise RuntimeError("the handler failed")
        if action == "503":
            return {"retry": "later"}, 503
        if action == "422":
            abort(422)
        if action == "block":
            behaviour.entered.set()
            behaviour.gate.wait(10)
        return {"received": delivery.delivery_id}

    def post(headers: Dict[str, str]) -> Answer:
        response = app.test_client().post("/hook", data=body_for(headers), headers=headers)
        return parsed(response.status_code, response.get_data())

    return post


@pytest.mark.parametrize("kind", SYNC_STORES)
def test_flask(kind: str, store_factory: Callable[[str], Tuple[Any, str]]) -> None:
    store, prefix = store_factory(kind)
    behaviour = Behaviour()
    post = flask_post(verifier_for(store), behaviour)
    handler_failure_then_retry(post, behaviour, "raise", 500)
    behaviour.calls = 0
    handler_failure_then_retry(post, behaviour, "503", 503)
    behaviour.calls = 0
    handled_with_4xx(post, behaviour)
    behaviour.calls = 0
    rejected_never_reserves(post, behaviour)
    behaviour.calls = 0
    concurrent_attempts_in_threads(post, behaviour)


def test_flask_redis_process_killed(store_factory: Callable[[str], Tuple[Any, str]]) -> None:
    store, prefix = store_factory("redis")
    behaviour = Behaviour()
    retried_after_the_lease(flask_post(verifier_for(store), behaviour), behaviour, prefix)


# -- Django ---------------------------------------------------------------------------------

urlpatterns: List[Any] = []


@pytest.fixture
def django_urls(django_configured: None) -> Iterator[List[Any]]:
    from django.test import override_settings

    with override_settings(ROOT_URLCONF=__name__):
        yield urlpatterns
    urlpatterns.clear()


def django_view(verifier: fw.Verifier, behaviour: Behaviour, asynchronous: bool) -> Any:
    from django.core.exceptions import BadRequest
    from django.http import HttpRequest, JsonResponse

    from fluxora_webhooks.django import WebhookDelivery, verify_webhook

    def answer(action: str, delivery: WebhookDelivery) -> JsonResponse:
        if action == "raise":
            raise RuntimeError("the handler failed")
        if action == "503":
            return JsonResponse({"retry": "later"}, status=503)
        if action == "422":
            raise BadRequest("handled: answered 400")
        return JsonResponse({"received": delivery.delivery_id})

    if asynchronous:

        @verify_webhook(verifier)
        async def async_hook(request: HttpRequest, delivery: WebhookDelivery) -> JsonResponse:
            action = behaviour.next()
            if action == "block":
                behaviour.entered.set()
                assert behaviour.async_gate is not None
                await behaviour.async_gate.wait()
            return answer(action, delivery)

        return async_hook

    @verify_webhook(verifier)
    def hook(request: HttpRequest, delivery: WebhookDelivery) -> JsonResponse:
        action = behaviour.next()
        if action == "block":
            behaviour.entered.set()
            behaviour.gate.wait(10)
        return answer(action, delivery)

    return hook


def django_headers(headers: Dict[str, str]) -> Dict[str, str]:
    return {name: value for name, value in headers.items() if name != "Content-Type"}


@pytest.mark.parametrize("kind", SYNC_STORES)
def test_django(kind: str, store_factory: Callable[[str], Tuple[Any, str]], django_urls: List[Any]) -> None:
    from django.test import Client
    from django.urls import path

    store, prefix = store_factory(kind)
    behaviour = Behaviour()
    django_urls[:] = [path("hook", django_view(verifier_for(store), behaviour, asynchronous=False))]

    def post(headers: Dict[str, str]) -> Answer:
        client = Client(raise_request_exception=False)
        response = client.post("/hook", data=body_for(headers), content_type="application/json", headers=django_headers(headers))
        return parsed(response.status_code, response.content)

    handler_failure_then_retry(post, behaviour, "raise", 500)
    behaviour.calls = 0
    handler_failure_then_retry(post, behaviour, "503", 503)
    behaviour.calls = 0
    behaviour.plan = ["422"]  # BadRequest: Django answers 400, the delivery was handled
    assert post(attempt("dlv_4xx"))[0] == 400
    assert post(attempt("dlv_4xx")) == (409, DUPLICATE)
    behaviour.calls = 0
    rejected_never_reserves(post, behaviour)
    behaviour.calls = 0
    concurrent_attempts_in_threads(post, behaviour)
    if prefix:
        behaviour.calls = 0
        retried_after_the_lease(post, behaviour, prefix)


@pytest.mark.parametrize("kind", ASYNC_STORES)
def test_django_async_view(kind: str, store_factory: Callable[[str], Tuple[Any, str]], django_urls: List[Any]) -> None:
    from django.test import AsyncClient
    from django.urls import path

    store, prefix = store_factory(kind)

    async def scenario() -> None:
        nonlocal store
        client_to_close = None
        if kind == "redis-asyncio":
            client_to_close = store.Redis.from_url(REDIS_URL)
            store = fw.AsyncRedisReplayStore(client_to_close, prefix=prefix)
        behaviour = Behaviour()
        django_urls[:] = [path("hook", django_view(verifier_for(store), behaviour, asynchronous=True))]
        client = AsyncClient(raise_request_exception=False)

        async def post(headers: Dict[str, str]) -> Answer:
            response = await client.post("/hook", data=body_for(headers), content_type="application/json", headers=django_headers(headers))
            return parsed(response.status_code, response.content)

        try:
            behaviour.plan = ["raise"]
            assert (await post(attempt("dlv_raise")))[0] == 500
            assert await post(attempt("dlv_raise")) == (200, {"received": "dlv_raise"})
            assert await post(attempt("dlv_raise")) == (409, DUPLICATE)
            assert behaviour.calls == 2
            behaviour.calls = 0
            behaviour.plan = ["503"]
            assert (await post(attempt("dlv_503")))[0] == 503
            assert await post(attempt("dlv_503")) == (200, {"received": "dlv_503"})
            assert await post(attempt("dlv_503")) == (409, DUPLICATE)
            behaviour.calls = 0
            await concurrent_attempts_in_tasks(post, behaviour)
            if kind == "redis-asyncio":
                behaviour.calls = 0
                await retried_after_the_lease_async(post, behaviour, prefix)
        finally:
            if client_to_close is not None:
                await client_to_close.aclose()

    asyncio.run(scenario())


# -- FastAPI / Starlette ----------------------------------------------------------------------


def fastapi_app(verifier: fw.Verifier, behaviour: Behaviour, installed: bool = True) -> Any:
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import JSONResponse

    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install

    app = FastAPI()
    if installed:
        install(app)
    verified = WebhookDependency(verifier)

    @app.post("/hook")
    async def hook(delivery: WebhookDelivery = Depends(verified)) -> Any:
        action = behaviour.next()
        if action == "raise":
            raise RuntimeError("the handler failed")
        if action == "503":
            return JSONResponse({"retry": "later"}, status_code=503)
        if action == "422":
            raise HTTPException(status_code=422, detail="handled")
        if action == "block":
            behaviour.entered.set()
            assert behaviour.async_gate is not None
            await behaviour.async_gate.wait()
        return {"received": delivery.delivery_id}

    return app


def starlette_app(verifier: fw.Verifier, behaviour: Behaviour) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from fluxora_webhooks.fastapi import WebhookDelivery, webhook_endpoint

    @webhook_endpoint(verifier)
    async def hook(request: Request, delivery: WebhookDelivery) -> Response:
        action = behaviour.next()
        if action == "raise":
            raise RuntimeError("the handler failed")
        if action == "503":
            return JSONResponse({"retry": "later"}, status_code=503)
        if action == "422":
            return JSONResponse({"invalid": True}, status_code=422)
        if action == "block":
            behaviour.entered.set()
            assert behaviour.async_gate is not None
            await behaviour.async_gate.wait()
        return JSONResponse({"received": delivery.delivery_id})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def asgi_scenarios(make_app: Callable[[fw.Verifier, Behaviour], Any], kind: str, store: Any, prefix: str, killed: bool) -> None:
    import httpx

    redis_client = None
    if kind == "redis-asyncio":
        redis_client = store.Redis.from_url(REDIS_URL)
        store = fw.AsyncRedisReplayStore(redis_client, prefix=prefix)
    behaviour = Behaviour()
    app = make_app(verifier_for(store), behaviour)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def post(headers: Dict[str, str]) -> Answer:
                response = await client.post("/hook", content=body_for(headers), headers=headers)
                return parsed(response.status_code, response.content)

            for action, failed in (("raise", 500), ("503", 503)):
                behaviour.calls = 0
                behaviour.plan = [action]
                assert (await post(attempt(f"dlv_{action}")))[0] == failed
                assert await post(attempt(f"dlv_{action}")) == (200, {"received": f"dlv_{action}"})
                assert await post(attempt(f"dlv_{action}")) == (409, DUPLICATE)
                assert behaviour.calls == 2, action
            behaviour.calls = 0
            behaviour.plan = ["422"]
            assert (await post(attempt("dlv_4xx")))[0] == 422
            assert await post(attempt("dlv_4xx")) == (409, DUPLICATE)
            behaviour.calls = 0
            forged = {**attempt("dlv_forged"), fw.HEADER_SIGNATURE: "0" * 64}
            assert (await post(forged))[0] == 401
            assert (await post(attempt("dlv_forged")))[0] == 200
            behaviour.calls = 0
            await concurrent_attempts_in_tasks(post, behaviour)
            if killed:
                behaviour.calls = 0
                await retried_after_the_lease_async(post, behaviour, prefix)
    finally:
        if redis_client is not None:
            await redis_client.aclose()


@pytest.mark.parametrize("kind", ASYNC_STORES)
def test_fastapi(kind: str, store_factory: Callable[[str], Tuple[Any, str]]) -> None:
    store, prefix = store_factory(kind)
    asyncio.run(asgi_scenarios(fastapi_app, kind, store, prefix, killed=kind == "redis-asyncio"))


@pytest.mark.parametrize("kind", ASYNC_STORES)
def test_starlette_endpoint(kind: str, store_factory: Callable[[str], Tuple[Any, str]]) -> None:
    store, prefix = store_factory(kind)
    asyncio.run(asgi_scenarios(starlette_app, kind, store, prefix, killed=False))


def test_fastapi_without_install_settles_in_the_dependency() -> None:
    """Without install(app): a raise releases, an HTTPException below 500 commits."""
    from fastapi.testclient import TestClient

    behaviour = Behaviour()
    client = TestClient(fastapi_app(verifier_for(fw.MemoryReplayStore()), behaviour, installed=False), raise_server_exceptions=False)

    def post(headers: Dict[str, str]) -> Answer:
        response = client.post("/hook", content=body_for(headers), headers=headers)
        return parsed(response.status_code, response.content)

    handler_failure_then_retry(post, behaviour, "raise", 500)
    behaviour.calls = 0
    handled_with_4xx(post, behaviour)


def test_fastapi_reads_no_further_than_the_body_limit() -> None:
    import httpx

    behaviour = Behaviour()
    app = fastapi_app(fw.Verifier(SECRET, max_body_bytes=1024), behaviour)
    pulled: List[int] = []

    async def chunks() -> Any:
        for index in range(100):
            pulled.append(index)
            yield b"x" * 512

    async def scenario() -> Tuple[Answer, Answer]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            too_large = await client.post("/hook", content=chunks(), headers=attempt("dlv_big"))
            pulled_for_the_first = len(pulled)
            # A missing header still comes first (the contract's order), however long the body.
            pulled.clear()
            unsigned = await client.post("/hook", content=chunks(), headers={"x-fluxora-timestamp": "1"})
            assert pulled_for_the_first <= 4, pulled_for_the_first
            return parsed(too_large.status_code, too_large.content), parsed(unsigned.status_code, unsigned.content)

    too_large, unsigned = asyncio.run(scenario())
    assert too_large == (413, {"error": "payload_too_large", "message": "Payload exceeds 1024 bytes"})
    assert unsigned == (401, {"error": "missing_delivery_id", "message": "Missing x-fluxora-delivery-id header"})
    assert behaviour.calls == 0


def test_fastapi_route_can_read_the_body_again() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from fluxora_webhooks.fastapi import WebhookDelivery, WebhookDependency, install

    app = FastAPI()
    install(app)
    verified = WebhookDependency(fw.Verifier(SECRET))

    @app.post("/hook")
    async def hook(request: StarletteRequest, delivery: WebhookDelivery = Depends(verified)) -> Dict[str, Any]:
        return {"same": await request.body() == delivery.body == body_of("dlv_body")}

    response = TestClient(app).post("/hook", content=body_of("dlv_body"), headers=attempt("dlv_body"))
    assert response.json() == {"same": True}


def test_redis_keys_are_left_only_for_handled_deliveries(redis_client: Any, redis_prefix: str) -> None:
    """After a failed attempt nothing but the attempt's signature pair (usable by the same
    id only) stays; after the handled retry, the committed id and pairs."""
    behaviour = Behaviour()
    post = flask_post(verifier_for(fw.RedisReplayStore(redis_client, prefix=redis_prefix)), behaviour)
    behaviour.plan = ["raise"]
    assert post(attempt("dlv_keys"))[0] == 500
    keys = redis_keys(redis_client, redis_prefix)
    assert len(keys) == 1 and b":sig:" in keys[0]
    assert post(attempt("dlv_keys"))[0] == 200
    values = {redis_client.get(key) for key in redis_keys(redis_client, redis_prefix) if b":id:" in key}
    assert values == {b"c"}
