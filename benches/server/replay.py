"""Historical-event replay throughput, through the public API of a running fluxora-server.

Loads EVENTS historical events for each of three contracts (1,000 per request, four requests
at a time), then replays each contract's whole range with batch sizes 100, 1,000 and 5,000,
polling GET /internal/indexer/status until it completes. Prints one JSON line per batch size
with the server's own figures (rows, seconds from start to finish, rows per second).

    python3 replay.py BASE_URL TOKEN [EVENTS]
"""

import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE, TOKEN = sys.argv[1], sys.argv[2]
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
BATCH_SIZES = (100, 1_000, 5_000)


def call(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", "Bearer " + TOKEN)
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def load(contract, start):
    events = [
        {
            "contractId": contract,
            "eventId": f"{contract}-{i:07d}",
            "ledger": 1 + i // 4,
            "type": "transfer",
            "payload": {"amount": str(i), "to": "G" + "A" * 55},
        }
        for i in range(start, min(start + 1_000, EVENTS))
    ]
    status, answer = call("/internal/indexer/events/historical", {"events": events})
    assert status == 200, answer


def replay(contract, batch_size):
    body = {"contractId": contract, "fromLedger": 1, "toLedger": 1 + EVENTS // 4, "batchSize": batch_size}
    status, answer = call("/internal/indexer/events/replay", body)
    assert status == 202, answer
    while True:
        status, answer = call("/internal/indexer/status")
        progress = answer["data"]["replay"]
        if progress["status"] == "completed":
            return progress
        assert progress["status"] == "running", progress
        time.sleep(0.05)


def main():
    loaded_at = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        for batch_size in BATCH_SIZES:
            list(pool.map(lambda s: load(f"BENCH-{batch_size}", s), range(0, EVENTS, 1_000)))
    load_seconds = time.monotonic() - loaded_at
    print(json.dumps({"loaded": EVENTS * len(BATCH_SIZES), "seconds": round(load_seconds, 2),
                      "eventsPerSecond": round(EVENTS * len(BATCH_SIZES) / load_seconds)}))
    for batch_size in BATCH_SIZES:
        progress = replay(f"BENCH-{batch_size}", batch_size)
        assert progress["rowsReplayed"] == EVENTS and progress["rowsInserted"] == EVENTS, progress
        print(json.dumps({
            "batchSize": batch_size,
            "rows": progress["rowsReplayed"],
            "rowsPerSecond": round(progress["rowsPerSecond"]),
        }))


main()
