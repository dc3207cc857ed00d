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
