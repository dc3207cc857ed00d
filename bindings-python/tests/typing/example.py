"""A small receiver written against the stubs; checked with mypy --strict by the suite."""

from __future__ import annotations

from typing import Dict, Optional

import fluxora_webhooks as fw


def handle(body: bytes, headers: Dict[str, str], now: Optional[int] = None) -> tuple[int, Dict[str, str]]:
    verifier = fw.Verifier("topsecret", previous_secret=b"old", tolerance_seconds=300, replay_store=fw.MemoryReplayStore(capacity=10))
    result: fw.Verification = verifier.verify(body, headers, now=now)
    if not result.ok:
        return result.status, {"error": result.code, "message": result.message}
    try:
        verifier.verify_or_raise(memoryview(body), headers, now=now)
    except fw.ReplayDetectedError as error:
        code: str = error.code
        status: int = error.status
        return status, {"error": code, "message": error.message}
    amount: str = fw.parse_amount("1.50", "amount")
    stroops: int = fw.to_stroops(amount)
    signature: str = fw.compute_signature("topsecret", 1710000000, bytearray(body))
    one_call = fw.verify("topsecret", body, "dlv_1", "1710000000", signature, now=1710000000)
    headers_out: Dict[str, str] = fw.sign("topsecret", body, delivery_id="dlv_1", event="stream.updated")
    native_set: Dict[str, str] = fw.signed_headers("topsecret", body, timestamp=1710000000)
    pairs = [(name.encode(), value.encode()) for name, value in native_set.items()]
    by_pairs: fw.Verification = verifier.verify(body, pairs, now=1710000000.5)
    try:
        fw.Verifier("topsecret", tolerance_seconds=None, replay_store=fw.MemoryReplayStore(delivery_retention_seconds=60))
    except fw.SettingsError as error:
        field: str = error.field
        problem: str = error.problem
        return 500, {"field": field, "problem": problem}
    return 200, {"stroops": str(stroops), "ok": str(one_call.ok and by_pairs.ok), **headers_out}


def handle_two_phase(body: bytes, headers: Dict[str, str]) -> tuple[int, Dict[str, str]]:
    verifier = fw.Verifier("topsecret", reservation_lease_seconds=30)
    lease: int = verifier.reservation_lease_seconds
    reservation: fw.Reservation = verifier.reserve(body, headers)
    if not reservation.ok:
        return reservation.status, {"error": reservation.code, "message": reservation.message}
    with reservation:
        result: fw.Verification = reservation.verification
        held: bool = reservation.held
    done: bool = reservation.commit() or reservation.release(now=1710000000) or reservation.settle(503)
    try:
        verifier.verify_or_raise(body, headers)
    except fw.DeliveryInProgressError as error:
        return error.status, {"error": error.code, "lease": str(lease), "held": str(held and done)}
    return 200, {"received": result.delivery_id or ""}


async def handle_async(body: bytes, headers: Dict[str, str], client: object) -> int:
    store = fw.AsyncRedisReplayStore(client, prefix="p:")
    verifier = fw.Verifier("topsecret", replay_store=store)
    checked: fw.Verification = await verifier.verify_async(body, headers)
    reservation: fw.Reservation = await verifier.reserve_async(body, headers)
    async with reservation:
        pass
    committed: bool = await reservation.commit_async()
    released: bool = await reservation.release_async(now=1710000000)
    settled: bool = await reservation.settle_async(200)
    sync_store = fw.RedisReplayStore(client)
    fw.Verifier("topsecret", replay_store=sync_store)
    return checked.status + int(committed or released or settled)
