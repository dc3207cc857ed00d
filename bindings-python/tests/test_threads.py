"""One Verifier (and one replay store) used from many threads at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

import fluxora_webhooks as fw
from conftest import NOW, SECRET

THREADS = 8
PER_THREAD = 150


def test_one_verifier_many_threads_records_each_delivery_once() -> None:
    verifier = fw.Verifier(SECRET, replay_store=fw.MemoryReplayStore(capacity=THREADS * PER_THREAD))
    small = b'{"event":"stream.updated"}'
    large = bytes(range(256)) * 256  # 64 KiB: hashed with the GIL released
    deliveries: List[Tuple[bytes, dict]] = []
    for index in range(THREADS * PER_THREAD):
        body = (large if index % 10 == 0 else small) + str(index).encode()
        deliveries.append((body, fw.sign(SECRET, body, delivery_id=f"dlv_{index}", timestamp=NOW)))
    start = threading.Barrier(THREADS)

    def work(offset: int) -> List[str]:
        start.wait()
        codes = []
        # Every thread verifies every delivery: exactly one acceptance each must win.
        for step in range(len(deliveries)):
            body, headers = deliveries[(offset * PER_THREAD + step) % len(deliveries)]
            codes.append(verifier.verify(body, headers, now=NOW).code)
        return codes

    with ThreadPoolExecutor(THREADS) as pool:
        results = [code for codes in pool.map(work, range(THREADS)) for code in codes]
    assert results.count("ok") == len(deliveries)
    assert results.count("duplicate_delivery") == len(deliveries) * (THREADS - 1)
    store = verifier.replay_store
    assert isinstance(store, fw.MemoryReplayStore)
    assert store.live_entries(NOW) == len(deliveries)


def test_stateless_verifier_gives_the_same_answer_in_every_thread() -> None:
    verifier = fw.Verifier(SECRET, replay_store=fw.NoReplayStore())
    body = bytes(range(256)) * 512
    good = fw.sign(SECRET, body, delivery_id="d", timestamp=NOW)
    bad = {**good, fw.HEADER_SIGNATURE: "f" * 64}

    def work(index: int) -> Tuple[str, str]:
        return (
            verifier.verify(memoryview(body), good, now=NOW).code,
            verifier.verify(body, bad, now=NOW).code,
        )

    with ThreadPoolExecutor(THREADS) as pool:
        answers = set(pool.map(work, range(400)))
    assert answers == {("ok", "signature_mismatch")}
