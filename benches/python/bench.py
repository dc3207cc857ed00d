"""Verification throughput of fluxora_webhooks against the libraries people use today.

Run (builds and installs what it needs):  bash benches/python/run.sh
Or, with fluxora_webhooks, standardwebhooks, svix and stripe installed:  python benches/python/bench.py

In one process, for a 1 KiB and a 64 KiB JSON delivery, each verifier checks an input
valid for its own scheme (all are HMAC-SHA256 over an id/timestamp and the body):
  - fluxora Verifier     : a prepared fluxora_webhooks.Verifier (NoReplayStore, so the
                           same delivery can be verified repeatedly), headers as a dict
  - fluxora verify()     : the one-call form (keys HMAC on every call)
  - stdlib               : a hand-written verifier with hmac.new(...).hexdigest() and
                           hmac.compare_digest, doing the DESIGN section 3 checks
  - standardwebhooks     : Webhook.verify(body, headers, json_parse=False)
  - svix                 : Webhook.verify(body, headers)
  - stripe               : WebhookSignature.verify_header(body, header, secret, 300)
Neither the stdlib verifier nor the peer libraries check for replays, so the prepared
Verifier runs with NoReplayStore (the fair comparison); the default MemoryReplayStore
adds one SHA-256 of the delivery id, a lock and two hash-map inserts per accepted delivery.
The rows' batches are interleaved (round robin, best batch per row), so load from other
processes on the machine affects every row alike.
Prints ops/s and each row's ratio to the stdlib verifier and to the prepared Verifier.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import platform
import time
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import fluxora_webhooks as fw

SECRET = "whsec_" + base64.b64encode(b"fluxora-benchmark-secret-32bytes").decode()


def json_body(size: int) -> bytes:
    head, tail = b'{"event":"stream.updated","amount":"100.50","pad":"', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def stdlib_verifier(secret: str, tolerance: int = 300, max_body: int = 262144) -> Callable[[bytes, Mapping[str, str], int], bool]:
    key = secret.encode()

    def verify(body: bytes, headers: Mapping[str, str], now: int) -> bool:
        if not key:
            return False
        delivery_id = headers.get("x-fluxora-delivery-id")
        stamp = headers.get("x-fluxora-timestamp")
        signature = headers.get("x-fluxora-signature")
        if not delivery_id or not stamp or not signature:
            return False
        if len(body) > max_body:
            return False
        digits = stamp.strip()
        if not (digits.isascii() and digits.isdigit()) or int(digits) == 0:
            return False
        if abs(now - int(digits)) > tolerance:
            return False
        expected = hmac.new(key, digits.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())

    return verify


def calibrate(call: Callable[[], object]) -> int:
    """Calls per batch so that one batch takes about 0.1 s."""
    call()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        if time.perf_counter() - start > 0.1:
            return number
        number *= 2


def measure(calls: List[Callable[[], object]], seconds: float) -> List[float]:
    """Best ops/s of each call, the calls' batches interleaved (round robin) for
    ``seconds`` per call in total, so that a change of machine load (other processes)
    hits every row alike and the ratios stay comparable."""
    numbers = [calibrate(call) for call in calls]
    best = [0.0] * len(calls)
    deadline = time.perf_counter() + seconds * len(calls)
    while time.perf_counter() < deadline:
        for index, call in enumerate(calls):
            number = numbers[index]
            start = time.perf_counter()
            for _ in range(number):
                call()
            best[index] = max(best[index], number / (time.perf_counter() - start))
    return best


def candidates(size: int) -> List[Tuple[str, Callable[[], object]]]:
    body = json_body(size)
    now = int(time.time())
    rows: List[Tuple[str, Callable[[], object]]] = []

    headers = fw.sign(SECRET, body, delivery_id="dlv_bench", timestamp=now)
    verifier = fw.Verifier(SECRET, replay_store=fw.NoReplayStore())
    assert verifier.verify(body, headers, now=now).ok
    rows.append(("fluxora Verifier", lambda: verifier.verify(body, headers, now=now)))
    sig = headers["x-fluxora-signature"]
    assert fw.verify(SECRET, body, "dlv_bench", str(now), sig, now=now).ok
    rows.append(("fluxora verify()", lambda: fw.verify(SECRET, body, "dlv_bench", str(now), sig, now=now)))

    stdlib = stdlib_verifier(SECRET)
    assert stdlib(body, headers, now)
    rows.append(("stdlib hmac", lambda: stdlib(body, headers, now)))

    try:
        from standardwebhooks.webhooks import Webhook as StandardWebhook

        standard = StandardWebhook(SECRET)
        from datetime import datetime, timezone

        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        std_headers = {
            "webhook-id": "msg_bench",
            "webhook-timestamp": str(now),
            "webhook-signature": standard.sign("msg_bench", moment, body.decode()),
        }
        standard.verify(body, std_headers, json_parse=False)
        rows.append(("standardwebhooks", lambda: standard.verify(body, std_headers, json_parse=False)))
    except ImportError as error:
        print(f"(standardwebhooks not installed: {error})")

    try:
        from svix.webhooks import Webhook as SvixWebhook

        svix = SvixWebhook(SECRET)
        from datetime import datetime, timezone

        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        svix_headers = {
            "svix-id": "msg_bench",
            "svix-timestamp": str(now),
            "svix-signature": svix.sign("msg_bench", moment, body.decode()),
        }
        svix.verify(body, svix_headers)
        rows.append(("svix", lambda: svix.verify(body, svix_headers)))
    except ImportError as error:
        print(f"(svix not installed: {error})")

    try:
        import stripe

        header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, timestamp=now)
        stripe.WebhookSignature.verify_header(body, header, SECRET, 300)
        rows.append(("stripe verify_header", lambda: stripe.WebhookSignature.verify_header(body, header, SECRET, 300)))
    except ImportError as error:
        print(f"(stripe not installed: {error})")
    return rows


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5, help="measuring time per row (default 1.5)")
    options = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, best of interleaved batches over {options.seconds} s per row")
    print("(fluxora Verifier with NoReplayStore: no row checks for replays)\n")
    print("| size | verifier | ops/s | vs stdlib | fluxora Verifier is |")
    print("|---|---|---:|---:|---:|")
    results: Dict[Tuple[int, str], float] = {}
    for size in (1024, 64 * 1024):
        named = candidates(size)
        rows = list(zip([name for name, _ in named], measure([call for _, call in named], options.seconds)))
        stdlib = dict(rows)["stdlib hmac"]
        ours = dict(rows)["fluxora Verifier"]
        for name, ops in rows:
            results[(size, name)] = ops
            print(f"| {size // 1024} KiB | {name} | {ops:,.0f} | {ops / stdlib:.2f}x | {ours / ops:.2f}x faster |")
    print()
    for size in (1024, 64 * 1024):
        ours = results[(size, "fluxora Verifier")]
        others = {name: ops for (s, name), ops in results.items() if s == size and not name.startswith("fluxora")}
        slowest_margin = min(ours / ops for ops in others.values())
        print(f"{size // 1024} KiB: prepared Verifier is {ours / others['stdlib hmac']:.2f}x the stdlib verifier; "
              f"{'faster' if slowest_margin > 1 else 'NOT faster'} than every other library (closest margin {slowest_margin:.2f}x)")


if __name__ == "__main__":
    main()
