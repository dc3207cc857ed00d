"""The in-memory store's bounds and TTLs, and the Redis store against a real Redis."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import fluxora_webhooks as fw
from conftest import JSON_BODY, NOW, SECRET
from fluxora_webhooks._native import (
    REDIS_DEFAULT_PREFIX,
    REDIS_SCRIPT,
    redis_eval_arguments,
    redis_verdict,
)

def signed(delivery_id: str, timestamp: int = NOW, body: bytes = JSON_BODY) -> dict:
    return fw.sign(SECRET, body, delivery_id=delivery_id, timestamp=timestamp)


def test_memory_store_defaults_and_validation() -> None:
    store = fw.MemoryReplayStore()
    assert (store.capacity, store.delivery_retention_seconds) == (fw.DEFAULT_REPLAY_CAPACITY, 86400)
    assert "MemoryReplayStore(capacity=" in repr(store)
    with pytest.raises(ValueError):
        fw.MemoryReplayStore(capacity=0)
    with pytest.raises(fw.SettingsError) as raised:
        fw.MemoryReplayStore(delivery_retention_seconds=0)
    assert (raised.value.field, raised.value.problem) == ("delivery_retention_seconds", "out_of_range")
    assert isinstance(fw.Verifier(SECRET).replay_store, fw.MemoryReplayStore)
    assert fw.Verifier(SECRET, replay_store=fw.NoReplayStore()).replay_store is None


def test_memory_store_never_evicts_unexpired_entries() -> None:
    store = fw.MemoryReplayStore(capacity=2, delivery_retention_seconds=1000)
    verifier = fw.Verifier(SECRET, replay_store=store)
    assert verifier.verify(JSON_BODY, signed("a"), now=NOW).ok
    assert verifier.verify(JSON_BODY, signed("b", NOW + 1), now=NOW).ok
    full = verifier.verify(JSON_BODY, signed("c", NOW + 2), now=NOW)
    assert (full.code, full.status) == ("consumer_overloaded", 429)
    # Both ids still remembered at their boundary (accepted at NOW, kept 1000 s inclusive).
    assert verifier.verify(JSON_BODY, signed("c", NOW + 1000), now=NOW + 1000).code == "consumer_overloaded"
    assert store.live_entries(NOW + 1000) == 2
    # One second later both expired: room again, and "a" may come back.
    assert verifier.verify(JSON_BODY, signed("a", NOW + 1001), now=NOW + 1001).ok
    assert store.live_entries(NOW + 1001) == 1
    store.clear()
    assert store.live_entries(NOW + 1001) == 0


def test_memory_store_pair_outlives_a_short_id_retention() -> None:
    store = fw.MemoryReplayStore(capacity=10, delivery_retention_seconds=1)
    verifier = fw.Verifier(SECRET, replay_store=store)
    assert verifier.verify(JSON_BODY, signed("a"), now=NOW).ok
    # The id is forgotten after 1 s, but the signed pair is kept until NOW + 300.
    assert verifier.verify(JSON_BODY, signed("b"), now=NOW + 200).code == "replayed_signature"
    assert verifier.verify(JSON_BODY, signed("a"), now=NOW + 200).code == "replayed_signature"


def test_one_store_shared_by_two_verifiers() -> None:
    store = fw.MemoryReplayStore()
    first = fw.Verifier(SECRET, replay_store=store)
    second = fw.Verifier("other", previous_secret=SECRET, replay_store=store)
    assert first.verify(JSON_BODY, signed("a"), now=NOW).ok
    assert second.verify(JSON_BODY, signed("a"), now=NOW).code == "duplicate_delivery"


@pytest.fixture
def redis_store(redis_client: Any, redis_prefix: str) -> fw.RedisReplayStore:
    return fw.RedisReplayStore(redis_client, prefix=redis_prefix, delivery_retention_seconds=600)


def test_redis_store_in_contract_order(redis_client: Any, redis_store: fw.RedisReplayStore) -> None:
    verifier = fw.Verifier(SECRET, replay_store=redis_store)
    assert verifier.verify(JSON_BODY, signed("dlv_1"), now=NOW).ok
    assert verifier.verify(JSON_BODY, signed("dlv_1"), now=NOW).code == "duplicate_delivery"
    # A fresh signature for the same id (a retry) is still a duplicate: id first.
    assert verifier.verify(JSON_BODY, signed("dlv_1", NOW + 5), now=NOW + 5).code == "duplicate_delivery"
    replayed = verifier.verify(JSON_BODY, signed("dlv_2"), now=NOW)
    assert (replayed.code, replayed.status) == ("replayed_signature", 409)
    # The replay with a swapped id left nothing behind: dlv_2 is not remembered.
    assert redis_client.exists(redis_store.delivery_key("dlv_2")) == 0
    assert verifier.verify(JSON_BODY, signed("dlv_2", NOW + 1), now=NOW + 1).ok
    # Unsigned requests never reach the store.
    forged = {**signed("dlv_3"), fw.HEADER_SIGNATURE: "0" * 64}
    assert verifier.verify(JSON_BODY, forged, now=NOW).code == "signature_mismatch"
    assert redis_client.exists(redis_store.delivery_key("dlv_3")) == 0


def test_redis_store_sets_expiries(redis_client: Any, redis_store: fw.RedisReplayStore) -> None:
    verifier = fw.Verifier(SECRET, replay_store=redis_store)
    headers = signed("dlv_ttl")
    assert verifier.verify(JSON_BODY, headers, now=NOW + 100).ok
    id_ttl = redis_client.ttl(redis_store.delivery_key("dlv_ttl"))
    pair_key = redis_store.signature_key(NOW, bytes.fromhex(headers[fw.HEADER_SIGNATURE]))
    pair_ttl = redis_client.ttl(pair_key)
    assert 590 <= id_ttl <= 600
    assert 190 <= pair_ttl <= 201  # until timestamp + tolerance, inclusive


def test_redis_store_shared_by_two_processes_worth_of_verifiers(redis_client: Any, redis_store: fw.RedisReplayStore) -> None:
    other = fw.RedisReplayStore(redis_client, prefix=redis_store.prefix)
    first = fw.Verifier(SECRET, replay_store=redis_store)
    second = fw.Verifier(SECRET, replay_store=other)
    assert first.verify(JSON_BODY, signed("dlv_shared"), now=NOW).ok
    assert second.verify(JSON_BODY, signed("dlv_shared"), now=NOW).code == "duplicate_delivery"


def test_redis_store_keys_are_the_facade_keys(redis_client: Any, redis_store: fw.RedisReplayStore) -> None:
    verifier = fw.Verifier(SECRET, replay_store=redis_store)
    headers = signed("dlv_keys")
    signature = bytes.fromhex(headers[fw.HEADER_SIGNATURE])
    assert verifier.verify(JSON_BODY, headers, now=NOW + 100).ok
    keys, args = redis_eval_arguments(redis_store.prefix, "dlv_keys", NOW, signature, NOW + 100, NOW + 300, 600)
    assert keys == [redis_store.delivery_key("dlv_keys"), redis_store.signature_key(NOW, signature)]
    # The id's key is a SHA-256 of its UTF-8 (any id takes one bounded key); the pair's
    # key names the timestamp and the signature. A Node receiver computes the same.
    assert keys[0] == f"{redis_store.prefix}id:{hashlib.sha256(b'dlv_keys').hexdigest()}"
    assert keys[1] == f"{redis_store.prefix}sig:{NOW}:{signature.hex()}"
    # The one-step record: mode, no token, the id's and the pair's expiries, the id's digest.
    assert args == ["record", "-", "600", "201", hashlib.sha256(b"dlv_keys").hexdigest()]
    assert redis_client.exists(*keys) == 2
    assert redis_client.get(keys[0]) == redis_client.get(keys[1]) == b"c"
    # Another runtime running the same script on the same keys sees the delivery.
    assert redis_client.eval(REDIS_SCRIPT, 2, *keys, *args) == 1
    other_id = redis_eval_arguments(redis_store.prefix, "dlv_other", NOW, signature, NOW + 100, NOW + 300, 600)
    assert redis_client.eval(REDIS_SCRIPT, 2, *other_id[0], *other_id[1]) == 2
    assert redis_client.exists(other_id[0][0]) == 0


def test_redis_store_defaults_and_replies() -> None:
    store = fw.RedisReplayStore(_ScriptRecorder())
    assert (store.prefix, store.delivery_retention_seconds) == (REDIS_DEFAULT_PREFIX, fw.DEFAULT_DELIVERY_RETENTION_SECONDS)
    assert repr(store) == "RedisReplayStore(prefix='fluxora:replay:', delivery_retention_seconds=86400)"
    assert [redis_verdict(reply) for reply in (0, 1, 2, 3)] == [
        "ok",
        "duplicate_delivery",
        "replayed_signature",
        "delivery_in_progress",
    ]
    with pytest.raises(ValueError, match="answered 7"):
        redis_verdict(7)
    with pytest.raises(ValueError):
        redis_eval_arguments("p:", "d", NOW, b"short", NOW, NOW + 300, 60)


class _ScriptRecorder:
    """A stand-in client: records the script it is asked to register."""

    def __init__(self) -> None:
        self.scripts: list = []

    def register_script(self, script: str) -> Any:
        self.scripts.append(script)
        return lambda keys, args: 0


def test_redis_store_loads_the_facade_script() -> None:
    client = _ScriptRecorder()
    store = fw.RedisReplayStore(client, prefix="p:", delivery_retention_seconds=60)
    assert client.scripts == [REDIS_SCRIPT]
    assert store.check_and_record("d", NOW, bytes(32), NOW, NOW + 300) == "ok"


def test_redis_errors_propagate() -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    verifier = fw.Verifier(SECRET, replay_store=fw.RedisReplayStore(client))
    with pytest.raises(redis.ConnectionError):
        verifier.verify(JSON_BODY, signed("x"), now=NOW)
    with pytest.raises(ValueError):
        fw.RedisReplayStore(client, delivery_retention_seconds=0)
