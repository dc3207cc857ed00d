"""Two-phase replay through the Python API: reserve, commit, release (and their awaitable
forms) in every store, the lease setting, and every reservation case of the conformance
file in the memory store and in Redis (sync and asyncio)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

import pytest

import fluxora_webhooks as fw
from conftest import JSON_BODY, NOW, REDIS_URL, SECRET, body_bytes, load_cases, redis_keys

DOCUMENT = load_cases()
RESERVATION_CASES = DOCUMENT["reservation_cases"]


def signed(delivery_id: str = "dlv_1", timestamp: int = NOW) -> Dict[str, str]:
    return fw.sign(SECRET, JSON_BODY, delivery_id=delivery_id, timestamp=timestamp)


# -- the API ---------------------------------------------------------------------------


def test_reserve_commit_then_duplicate() -> None:
    store = fw.MemoryReplayStore()
    verifier = fw.Verifier(SECRET, replay_store=store)
    assert verifier.reservation_lease_seconds == fw.DEFAULT_RESERVATION_LEASE_SECONDS == 60
    reservation = verifier.reserve(JSON_BODY, signed(), now=NOW)
    assert isinstance(reservation, fw.Reservation)
    assert reservation and reservation.ok and reservation.held
    assert (reservation.code, reservation.status, reservation.message) == ("ok", 200, "Webhook signature verified")
    assert reservation.verification.ok and reservation.verification.delivery_id == "dlv_1"
    assert repr(reservation) == 'Reservation(ok=True, status=200, code="ok", held=True)'
    assert store.live_entries(NOW) == 1
    busy = verifier.reserve(JSON_BODY, signed(timestamp=NOW + 1), now=NOW + 1)
    assert (busy.ok, busy.code, busy.status, busy.held) == (False, "delivery_in_progress", 429, False)
    assert busy.message == "Delivery is being processed; retry later"
    assert not busy.commit(now=NOW + 1) and not busy.release(now=NOW + 1)
    # The one-step form sees the reservation too.
    assert verifier.verify(JSON_BODY, signed(timestamp=NOW + 1), now=NOW + 1).code == fw.DELIVERY_IN_PROGRESS
    assert reservation.commit(now=NOW + 2) is True
    assert not reservation.held
    assert reservation.commit(now=NOW + 2) is False  # settled once
    assert reservation.release(now=NOW + 2) is False
    again = verifier.reserve(JSON_BODY, signed(timestamp=NOW + 3), now=NOW + 3)
    assert (again.code, again.status) == ("duplicate_delivery", 409)


def test_release_lets_the_retry_run_again() -> None:
    verifier = fw.Verifier(SECRET)
    first = verifier.reserve(JSON_BODY, signed(), now=NOW)
    assert first.release(now=NOW + 1) is True
    # The same attempt (same timestamp and signature) may come back under its own id ...
    retry = verifier.reserve(JSON_BODY, signed(), now=NOW + 2)
    assert retry.ok
    # ... never under another one.
    assert retry.release(now=NOW + 2)
    assert verifier.reserve(JSON_BODY, signed("dlv_2"), now=NOW + 3).code == "replayed_signature"
    assert verifier.reserve(JSON_BODY, signed(timestamp=NOW + 30), now=NOW + 30).commit(now=NOW + 31)
    assert verifier.verify(JSON_BODY, signed(timestamp=NOW + 40), now=NOW + 40).code == "duplicate_delivery"


def test_the_lease_is_configurable_and_a_lapsed_reservation_is_lost() -> None:
    verifier = fw.Verifier(SECRET, reservation_lease_seconds=5)
    assert verifier.reservation_lease_seconds == 5
    assert "reservation_lease_seconds=5" in repr(verifier)
    held = verifier.reserve(JSON_BODY, signed(), now=NOW)
    assert verifier.reserve(JSON_BODY, signed(timestamp=NOW + 5), now=NOW + 5).code == "delivery_in_progress"
    after_lease = verifier.reserve(JSON_BODY, signed(timestamp=NOW + 6), now=NOW + 6)
    assert after_lease.ok
    assert held.commit(now=NOW + 6) is False  # lost: the lease ran out
    assert after_lease.commit(now=NOW + 7) is True


@pytest.mark.parametrize(
    "value,problem,error",
    [(0, "out_of_range", fw.SettingsError), (-1, "out_of_range", fw.SettingsError), (1.5, "not_whole", fw.SettingsError),
     (2**53, "out_of_range", fw.SettingsError), ("60", "wrong_type", fw.SettingsTypeError), (True, "wrong_type", fw.SettingsTypeError)],
)
def test_the_lease_setting_is_validated_by_the_facade(value: Any, problem: str, error: type) -> None:
    with pytest.raises(error) as raised:
        fw.Verifier(SECRET, reservation_lease_seconds=value)
    assert (raised.value.field, raised.value.problem) == ("reservation_lease_seconds", problem)
    assert raised.value.message.startswith("reservation_lease_seconds ")
    assert fw.Verifier(SECRET, reservation_lease_seconds=None).reservation_lease_seconds == 60
    assert fw.Verifier(SECRET, reservation_lease_seconds=1).reservation_lease_seconds == 1


def test_the_replay_store_type_is_checked_before_the_lease() -> None:
    with pytest.raises(fw.SettingsError) as raised:
        fw.Verifier(SECRET, replay_store=object(), reservation_lease_seconds=0)  # type: ignore[arg-type]
    assert raised.value.field == "replay_store"


def test_context_manager_commits_on_exit_and_releases_on_an_exception() -> None:
    verifier = fw.Verifier(SECRET)
    with pytest.raises(RuntimeError, match="handler failed"):
        with verifier.reserve(JSON_BODY, signed("dlv_cm"), now=NOW) as reservation:
            assert reservation.held
            raise RuntimeError("handler failed")
    assert not reservation.held
    # Settled on the reservation's own clock (given `now`, plus the real time elapsed since).
    with verifier.reserve(JSON_BODY, signed("dlv_cm"), now=NOW + 1) as retry:
        assert retry.ok  # released: processed again
    assert verifier.reserve(JSON_BODY, signed("dlv_cm", NOW + 2), now=NOW + 2).code == "duplicate_delivery"
    # Settled inside the block: the exit does nothing more.
    with verifier.reserve(JSON_BODY, signed("dlv_cm2", NOW + 10), now=NOW + 10) as explicit:
        assert explicit.release()
    assert verifier.reserve(JSON_BODY, signed("dlv_cm2", NOW + 10), now=NOW + 11).ok
    # A refused delivery: nothing to settle, the block still runs.
    forged = {**signed("dlv_cm3", NOW + 20), fw.HEADER_SIGNATURE: "0" * 64}
    with verifier.reserve(JSON_BODY, forged, now=NOW + 20) as refused:
        assert (refused.ok, refused.code) == (False, "signature_mismatch")


def test_the_system_clock_by_default() -> None:
    verifier = fw.Verifier(SECRET)
    headers = fw.sign(SECRET, JSON_BODY, delivery_id="dlv_clock")
    with verifier.reserve(JSON_BODY, headers) as reservation:
        assert reservation.ok
    assert verifier.verify(JSON_BODY, headers).code == "duplicate_delivery"


def test_settle_commits_below_500_and_releases_5xx() -> None:
    verifier = fw.Verifier(SECRET)
    for index, (status, processed_again) in enumerate([(200, False), (204, False), (422, False), (500, True), (503, True)]):
        delivery_id, at = f"dlv_settle_{index}", NOW + 10 * index
        assert verifier.reserve(JSON_BODY, signed(delivery_id, at), now=at).settle(status, now=at + 1) is True
        retry = verifier.reserve(JSON_BODY, signed(delivery_id, at + 2), now=at + 2)
        assert retry.ok is processed_again, status
        assert retry.code == ("ok" if processed_again else "duplicate_delivery")


def test_rejected_deliveries_never_touch_the_store() -> None:
    store = fw.MemoryReplayStore()
    verifier = fw.Verifier(SECRET, replay_store=store)
    forged = {**signed(), fw.HEADER_SIGNATURE: "0" * 64}
    stale = signed(timestamp=NOW - 301)
    for headers, code in [(forged, "signature_mismatch"), (stale, "timestamp_outside_tolerance"), ({}, "missing_delivery_id")]:
        reservation = verifier.reserve(JSON_BODY, headers, now=NOW)
        assert (reservation.ok, reservation.code, reservation.held) == (False, code, False)
    assert store.live_entries(NOW) == 0
    assert verifier.reserve(JSON_BODY, signed(), now=NOW).ok  # nothing was poisoned


def test_no_replay_store_and_is_duplicate_delivery_reserve_without_remembering() -> None:
    nothing = fw.Verifier(SECRET, replay_store=fw.NoReplayStore())
    first = nothing.reserve(JSON_BODY, signed(), now=NOW)
    second = nothing.reserve(JSON_BODY, signed(), now=NOW)
    assert first.ok and second.ok
    assert first.commit(now=NOW) is True and second.release(now=NOW) is True
    seen = {"dlv_seen"}
    asked = fw.Verifier(SECRET, is_duplicate_delivery=lambda delivery_id: delivery_id in seen)
    assert asked.reserve(JSON_BODY, signed("dlv_seen"), now=NOW).code == "duplicate_delivery"
    fresh = asked.reserve(JSON_BODY, signed("dlv_new"), now=NOW)
    assert fresh.ok and fresh.release(now=NOW) is True


class _CheckAndRecordOnly:
    """A store written in Python with only the one-step protocol."""

    def __init__(self) -> None:
        self.seen: set = set()

    def check_and_record(self, delivery_id: str, timestamp: int, signature: bytes, now: int, signature_expires_at: int) -> str:
        if delivery_id in self.seen:
            return "duplicate_delivery"
        self.seen.add(delivery_id)
        return "ok"


def test_a_check_and_record_store_records_when_reserving() -> None:
    store = _CheckAndRecordOnly()
    verifier = fw.Verifier(SECRET, replay_store=store)
    reservation = verifier.reserve(JSON_BODY, signed(), now=NOW)
    assert reservation.ok and store.seen == {"dlv_1"}
    # Recorded at once: a commit has nothing left to do, a release cannot undo it.
    assert reservation.release(now=NOW) is False
    assert verifier.reserve(JSON_BODY, signed(), now=NOW).code == "duplicate_delivery"


def test_awaitable_forms_with_a_sync_store() -> None:
    async def scenario() -> None:
        verifier = fw.Verifier(SECRET)
        reservation = await verifier.reserve_async(JSON_BODY, signed(), now=NOW)
        assert reservation.ok
        busy = await verifier.verify_async(JSON_BODY, signed(timestamp=NOW + 1), now=NOW + 1)
        assert isinstance(busy, fw.Verification) and busy.code == "delivery_in_progress"
        assert await reservation.release_async(now=NOW + 1) is True
        assert await reservation.commit_async(now=NOW + 1) is False
        async with await verifier.reserve_async(JSON_BODY, signed(timestamp=NOW + 2), now=NOW + 2) as retry:
            assert retry.ok
        assert not retry.held
        duplicate = await verifier.verify_async(JSON_BODY, signed(timestamp=NOW + 3), now=NOW + 3)
        assert duplicate.code == "duplicate_delivery"
        refused = await verifier.reserve_async(JSON_BODY, {}, now=NOW)
        assert refused.code == "missing_delivery_id" and await refused.settle_async(200) is False

    asyncio.run(scenario())


def test_async_with_releases_and_never_swallows_the_exception() -> None:
    async def scenario() -> None:
        verifier = fw.Verifier(SECRET)
        with pytest.raises(KeyError):
            async with await verifier.reserve_async(JSON_BODY, signed(), now=NOW):
                raise KeyError("handler failed")
        assert (await verifier.reserve_async(JSON_BODY, signed(), now=NOW)).ok

    asyncio.run(scenario())


# -- Redis ------------------------------------------------------------------------------


def test_redis_reserve_commit_release_keys_and_expiries(redis_client: Any, redis_prefix: str) -> None:
    store = fw.RedisReplayStore(redis_client, prefix=redis_prefix, delivery_retention_seconds=600)
    verifier = fw.Verifier(SECRET, replay_store=store, reservation_lease_seconds=30)
    headers = signed()
    id_key = store.delivery_key("dlv_1")
    pair_key = store.signature_key(NOW, bytes.fromhex(headers[fw.HEADER_SIGNATURE]))
    reservation = verifier.reserve(JSON_BODY, headers, now=NOW + 100)
    assert reservation.ok
    token = redis_client.get(id_key)
    assert token is not None and len(token) == 32 and token != b"c"  # the facade's token
    assert 28 <= redis_client.ttl(id_key) <= 30  # the lease
    assert 190 <= redis_client.ttl(pair_key) <= 201  # until timestamp + tolerance
    assert verifier.reserve(JSON_BODY, signed(timestamp=NOW + 101), now=NOW + 101).code == "delivery_in_progress"
    assert reservation.release(now=NOW + 101) is True
    assert redis_client.exists(id_key) == 0 and redis_client.exists(pair_key) == 1
    retry = verifier.reserve(JSON_BODY, headers, now=NOW + 102)
    assert retry.ok and retry.commit(now=NOW + 102) is True
    assert redis_client.get(id_key) == redis_client.get(pair_key) == b"c"
    assert 590 <= redis_client.ttl(id_key) <= 600  # committed: the retention
    assert retry.commit(now=NOW + 103) is False
    assert verifier.reserve(JSON_BODY, signed(timestamp=NOW + 104), now=NOW + 104).code == "duplicate_delivery"


def test_redis_rejected_deliveries_never_touch_redis(redis_client: Any, redis_prefix: str) -> None:
    verifier = fw.Verifier(SECRET, replay_store=fw.RedisReplayStore(redis_client, prefix=redis_prefix))
    forged = {**fw.sign(SECRET, JSON_BODY, delivery_id="dlv_1"), fw.HEADER_SIGNATURE: "0" * 64}
    assert verifier.reserve(JSON_BODY, forged).code == "signature_mismatch"
    assert verifier.reserve(JSON_BODY, signed(timestamp=int(time.time()) - 3600)).code == "timestamp_outside_tolerance"
    assert redis_keys(redis_client, redis_prefix) == []


def test_redis_store_in_a_sync_form_and_async_store_in_a_sync_form() -> None:
    redis_asyncio = pytest.importorskip("redis.asyncio")
    verifier = fw.Verifier(SECRET, replay_store=fw.AsyncRedisReplayStore(redis_asyncio.Redis.from_url(REDIS_URL)))
    # Refused before any I/O is attempted: the synchronous forms cannot await.
    with pytest.raises(TypeError, match="verify_async"):
        verifier.verify(JSON_BODY, signed(), now=NOW)
    with pytest.raises(TypeError, match="reserve_async"):
        verifier.reserve(JSON_BODY, signed(), now=NOW)
    # A refused delivery never reaches the store, in either form.
    assert verifier.verify(JSON_BODY, {}).code == "missing_delivery_id"


def test_async_redis_reserve_and_sync_settle_is_refused(redis_prefix: str) -> None:
    redis_asyncio = pytest.importorskip("redis.asyncio")

    async def scenario() -> None:
        client = redis_asyncio.Redis.from_url(REDIS_URL)
        try:
            store = fw.AsyncRedisReplayStore(client, prefix=redis_prefix)
            assert repr(store).startswith("AsyncRedisReplayStore(prefix=")
            verifier = fw.Verifier(SECRET, replay_store=store)
            assert verifier.replay_store is store
            reservation = await verifier.reserve_async(JSON_BODY, signed(), now=NOW)
            assert reservation.ok
            with pytest.raises(TypeError, match="commit_async"):
                reservation.commit(now=NOW)
            assert reservation.held  # a refused settlement leaves it held
            assert (await verifier.verify_async(JSON_BODY, signed(), now=NOW)).code == "delivery_in_progress"
            assert await reservation.commit_async(now=NOW) is True
            assert (await verifier.verify_async(JSON_BODY, signed(), now=NOW)).code == "duplicate_delivery"
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_node_and_python_share_reservations_through_the_one_script(redis_client: Any, redis_prefix: str) -> None:
    """Another runtime's reservation (the same script, keys and modes) is seen as in progress."""
    from fluxora_webhooks._native import REDIS_SCRIPT

    store = fw.RedisReplayStore(redis_client, prefix=redis_prefix)
    verifier = fw.Verifier(SECRET, replay_store=store)
    headers = signed()
    keys = [store.delivery_key("dlv_1"), store.signature_key(NOW, bytes.fromhex(headers[fw.HEADER_SIGNATURE]))]
    digest = keys[0].rsplit(":", 1)[1]
    assert redis_client.eval(REDIS_SCRIPT, 2, *keys, "reserve", "f" * 32, "60", "301", digest) == 0
    assert verifier.reserve(JSON_BODY, headers, now=NOW).code == "delivery_in_progress"
    assert redis_client.eval(REDIS_SCRIPT, 2, *keys, "release", "f" * 32, "1", "1", digest) == 0
    assert verifier.reserve(JSON_BODY, headers, now=NOW).ok


# -- the conformance file's reservation cases --------------------------------------------


def _needs_time_travel(case: Dict[str, Any]) -> bool:
    """True when an answer depends on a lease running out: a step after a reservation's
    lease ended while it was still unsettled. Redis expires keys in real time, so such a
    case would have to wait the lease out (60 s)."""
    lease = case["lease_seconds"]
    ends: Dict[int, int] = {}
    settled: Dict[int, int] = {}
    for index, step in enumerate(case["steps"]):
        now = step["delivery"]["now"] if "delivery" in step else step["now"]
        for reserved, lease_end in ends.items():
            if now > lease_end and settled.get(reserved, now) >= now:
                return True
        if step["op"] == "reserve" and step["expect"]["code"] == "ok":
            ends[index] = now + lease
        elif step["op"] in ("commit", "release"):
            settled.setdefault(step["of"], now)
    return False


def _got(result: Union[fw.Verification, fw.Reservation], expect: Dict[str, Any]) -> Dict[str, Any]:
    got = {"code": result.code, "status": result.status, "message": result.message}
    if "used_previous_secret" in expect:
        verification = result.verification if isinstance(result, fw.Reservation) else result
        got["used_previous_secret"] = verification.used_previous_secret
    return got


async def _run_case(case: Dict[str, Any], verifier: fw.Verifier, asynchronous: bool) -> List[str]:
    """Runs the case's steps; answers the failures (empty: every step as expected)."""

    async def call(sync: Callable[..., Any], awaitable: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        return await awaitable(**kwargs) if asynchronous else sync(**kwargs)

    held: List[Optional[fw.Reservation]] = []
    failures = []
    for index, step in enumerate(case["steps"]):
        got: Any
        reservation: Optional[fw.Reservation] = None
        if step["op"] in ("reserve", "verify"):
            delivery = step["delivery"]
            fields = delivery["headers"]
            arguments = dict(
                body=body_bytes(delivery["body"]),
                delivery_id=fields["delivery_id"],
                timestamp=fields["timestamp"],
                signature=fields["signature"],
                now=delivery["now"],
            )
            if step["op"] == "reserve":
                reservation = await call(verifier.reserve, verifier.reserve_async, **arguments)
                assert reservation is not None
                result: Union[fw.Verification, fw.Reservation] = reservation
            else:
                result = await call(verifier.verify, verifier.verify_async, **arguments)
            got = _got(result, step["expect"])
        else:
            previous = held[step["of"]]
            assert previous is not None, "step `of` made a reservation"
            if step["op"] == "commit":
                got = await call(previous.commit, previous.commit_async, now=step["now"])
            else:
                got = await call(previous.release, previous.release_async, now=step["now"])
        held.append(reservation)
        if got != step["expect"]:
            failures.append(f"step {index} ({step['op']}): got {got}, want {step['expect']}")
    return failures


def _memory_verifier(case: Dict[str, Any]) -> fw.Verifier:
    replay = {**DOCUMENT["defaults"]["replay"], **case.get("replay", {})}
    return fw.Verifier(
        case["config"]["secret"],
        replay_store=fw.MemoryReplayStore(**replay),
        reservation_lease_seconds=case["lease_seconds"],
    )


@pytest.mark.parametrize("form", ["sync", "async"])
@pytest.mark.parametrize("case", RESERVATION_CASES, ids=[c["name"] for c in RESERVATION_CASES])
def test_reservation_case_in_the_memory_store(case: Dict[str, Any], form: str) -> None:
    failures = asyncio.run(_run_case(case, _memory_verifier(case), form == "async"))
    assert not failures, failures


def test_every_reservation_case_runs_somewhere_in_redis() -> None:
    redis_cases = [c for c in RESERVATION_CASES if "replay" not in c and not _needs_time_travel(c)]
    assert len(redis_cases) >= 5
    assert {c["name"] for c in RESERVATION_CASES if _needs_time_travel(c)} == {
        "a reservation neither committed nor released expires with its lease",
        "a configured lease is honoured",
    }


# Run through Redis with each case's own `now` values (Redis expiries are relative, so the
# keys' lifetimes match the case's clock). Two kinds of case are skipped, and the skip says
# so: a case with a `replay` capacity (Redis expires keys itself and is never full, so it
# never answers consumer_overloaded), and a case whose answer depends on a lease running
# out between two steps (Redis's clock is the real one; waiting 60 s per case is not worth
# it). Lapsed leases in Redis are covered for real, with a 2 s lease, by
# test_handler_failures.py's process-killed tests.
@pytest.mark.parametrize("form", ["sync", "async"])
@pytest.mark.parametrize("case", RESERVATION_CASES, ids=[c["name"] for c in RESERVATION_CASES])
def test_reservation_case_in_redis(case: Dict[str, Any], form: str, redis_client: Any, redis_prefix: str) -> None:
    if "replay" in case:
        pytest.skip("Redis is never full: the capacity case is for bounded stores")
    if _needs_time_travel(case):
        pytest.skip("needs a lease to run out between steps; Redis expires keys in real time")

    async def scenario() -> List[str]:
        if form == "sync":
            store: Any = fw.RedisReplayStore(redis_client, prefix=redis_prefix)
            return await _run_case(case, _redis_verifier(case, store), False)
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            store = fw.AsyncRedisReplayStore(client, prefix=redis_prefix)
            return await _run_case(case, _redis_verifier(case, store), True)
        finally:
            await client.aclose()

    failures = asyncio.run(scenario())
    assert not failures, failures


def _redis_verifier(case: Dict[str, Any], store: Any) -> fw.Verifier:
    return fw.Verifier(case["config"]["secret"], replay_store=store, reservation_lease_seconds=case["lease_seconds"])


def test_a_lapsed_redis_lease_in_real_time(redis_client: Any, redis_prefix: str) -> None:
    """The lease is Redis's own expiry: a reservation never settled frees the id."""
    verifier = fw.Verifier(SECRET, replay_store=fw.RedisReplayStore(redis_client, prefix=redis_prefix), reservation_lease_seconds=1)
    headers = fw.sign(SECRET, JSON_BODY, delivery_id="dlv_lapse")
    held = verifier.reserve(JSON_BODY, headers)
    assert held.ok
    assert verifier.reserve(JSON_BODY, headers).code == "delivery_in_progress"
    time.sleep(1.2)
    retry = verifier.reserve(JSON_BODY, headers)
    assert retry.ok
    assert held.commit() is False  # lost: another attempt holds the id now
    assert retry.commit() is True



def _race(verifier: fw.Verifier, headers: Dict[str, str], now: Optional[int]) -> List[fw.Reservation]:
    """Eight threads reserve one delivery at the same moment."""
    barrier = threading.Barrier(8)
    results: List[fw.Reservation] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        reservation = verifier.reserve(JSON_BODY, headers, now=now)
        with lock:
            results.append(reservation)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_threads_racing_for_one_delivery_in_memory() -> None:
    verifier = fw.Verifier(SECRET)
    results = _race(verifier, signed("dlv_race"), NOW)
    assert sorted(r.code for r in results) == ["delivery_in_progress"] * 7 + ["ok"]
    winner = next(r for r in results if r.ok)
    assert winner.commit(now=NOW)
    assert {r.code for r in _race(verifier, signed("dlv_race", NOW + 1), NOW + 1)} == {"duplicate_delivery"}


def test_threads_racing_for_one_delivery_in_redis(redis_client: Any, redis_prefix: str) -> None:
    verifier = fw.Verifier(SECRET, replay_store=fw.RedisReplayStore(redis_client, prefix=redis_prefix))
    headers = fw.sign(SECRET, JSON_BODY, delivery_id="dlv_race")
    results = _race(verifier, headers, None)
    assert sorted(r.code for r in results) == ["delivery_in_progress"] * 7 + ["ok"]
    assert next(r for r in results if r.ok).release()
    assert verifier.reserve(JSON_BODY, headers).ok  # released: the retry is processed
