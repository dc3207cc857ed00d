#!/usr/bin/env python3
"""Writes conformance/cases.json: the cases every runtime must answer identically.

Signatures are computed here with Python's standard-library `hmac`, an implementation
independent of the Rust core, so the file checks the core rather than restating it.
Run `python3 conformance/generate.py` after editing; the output is committed.
"""
import hashlib
import hmac
import json
import pathlib

SECRET = "topsecret"
TS = "1710000000"
NOW = 1710000000
JSON_BODY = '{"event":"stream.updated"}'
LONG_SECRET = "k" * 100 + "-longer-than-the-64-byte-hmac-block"
UNICODE_SECRET = "clé-secrète-🔑"

MESSAGES = {
    "ok": "Webhook signature verified",
    "missing_secret": "Webhook secret is required",
    "missing_delivery_id": "Missing x-fluxora-delivery-id header",
    "missing_timestamp": "Missing x-fluxora-timestamp header",
    "missing_signature": "Missing x-fluxora-signature header",
    "invalid_timestamp": "Timestamp must be a positive Unix seconds value",
    "previous_secret_expired": "Previous webhook secret has expired; rotate to the current secret",
    "signature_mismatch": "Webhook signature verification failed",
    "duplicate_delivery": "Duplicate delivery id",
    "replayed_signature": "Signature was already used by another delivery",
    "consumer_overloaded": "Replay store is full; retry later",
    "delivery_in_progress": "Delivery is being processed; retry later",
}
STATUS = {
    "ok": 200, "missing_secret": 500, "missing_delivery_id": 401, "missing_timestamp": 401,
    "missing_signature": 401, "payload_too_large": 413, "invalid_timestamp": 400,
    "timestamp_outside_tolerance": 401, "previous_secret_expired": 401,
    "signature_mismatch": 401, "duplicate_delivery": 409, "replayed_signature": 409,
    "consumer_overloaded": 429, "delivery_in_progress": 429,
}


def body_bytes(body):
    if "utf8" in body:
        return body["utf8"].encode()
    if "hex" in body:
        return bytes.fromhex(body["hex"])
    return bytes.fromhex(body["repeat_hex"]) * body["count"]


def sig(secret, ts, body):
    return hmac.new(secret.encode(), ts.encode() + b"." + body_bytes(body), hashlib.sha256).hexdigest()


def expect(code, *, limit=262144, tolerance=300, previous=False):
    message = MESSAGES.get(code)
    if code == "payload_too_large":
        message = f"Payload exceeds {limit} bytes"
    if code == "timestamp_outside_tolerance":
        message = f"Timestamp is outside the {tolerance} second verification window"
    result = {"code": code, "status": STATUS[code], "message": message}
    if code == "ok":
        result["used_previous_secret"] = previous
    return result


cases = []


ABSENT = object()  # a header left out, as opposed to one computed by signing


def case(name, code, *, body=None, delivery_id="dlv_1", timestamp=TS, signature=None,
         sign_with=SECRET, now=NOW, config=None, prior=(), expect_kw=None, **flags):
    body = body if body is not None else {"utf8": JSON_BODY}
    config = {"secret": SECRET, **(config or {})}
    if signature is ABSENT:
        signature = None
    elif signature is None and timestamp is not None:
        signature = sig(sign_with, timestamp, body)
    entry = {
        "name": name,
        "config": config,
        "headers": {"delivery_id": delivery_id, "timestamp": timestamp, "signature": signature},
        "body": body,
        "now": now,
    }
    if prior:
        entry["prior"] = list(prior)
    entry.update(flags)
    entry["expect"] = expect(code, **(expect_kw or {}))
    cases.append(entry)


def prior(delivery_id, timestamp=TS, body=None, now=NOW, secret=SECRET, signature=None):
    body = body if body is not None else {"utf8": JSON_BODY}
    return {
        "headers": {
            "delivery_id": delivery_id,
            "timestamp": timestamp,
            "signature": signature or sig(secret, timestamp, body),
        },
        "body": body,
        "now": now,
    }


ALL_BYTES = {"hex": bytes(range(256)).hex()}
KNOWN_ANSWERS = [
    {"secret": SECRET, "timestamp": TS, "body": {"utf8": JSON_BODY},
     "signature": "925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79"},
    {"secret": SECRET, "timestamp": TS, "body": {"utf8": ""},
     "signature": "a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366"},
    {"secret": SECRET, "timestamp": TS, "body": ALL_BYTES,
     "signature": "fd458b8ae7da6909e485a31de5d23ff63001d3e627104fc93efc12dda15fc348"},
]
for answer in KNOWN_ANSWERS:
    assert sig(answer["secret"], answer["timestamp"], answer["body"]) == answer["signature"]

# Known answers verify.
case("known answer: JSON body", "ok", signature=KNOWN_ANSWERS[0]["signature"])
case("known answer: empty body", "ok", body={"utf8": ""}, signature=KNOWN_ANSWERS[1]["signature"])
case("known answer: bytes 0x00..0xff", "ok", body=ALL_BYTES, signature=KNOWN_ANSWERS[2]["signature"])
case("invalid UTF-8 body verifies as raw bytes", "ok", body={"hex": "fffe80c0afed"})
case("JSON with whitespace is signed as sent", "ok", body={"utf8": '{ "event" : "stream.updated" }\n'})
case("re-serialized JSON no longer matches", "signature_mismatch",
     body={"utf8": '{"event": "stream.updated"}'}, signature=KNOWN_ANSWERS[0]["signature"])

# 1. secret
case("missing secret", "missing_secret", config={"secret": None})
case("empty secret", "missing_secret", config={"secret": ""})
case("missing secret wins over missing headers", "missing_secret", config={"secret": ""},
     delivery_id=None, timestamp=None, signature=None)
# 2-4. headers
case("missing delivery id", "missing_delivery_id", delivery_id=None)
case("empty delivery id", "missing_delivery_id", delivery_id="")
case("missing delivery id wins over missing timestamp", "missing_delivery_id", delivery_id=None,
     timestamp=None, signature=None)
case("missing timestamp", "missing_timestamp", timestamp=None, signature="00" * 32)
case("empty timestamp", "missing_timestamp", timestamp="", signature="00" * 32)
case("missing timestamp wins over missing signature", "missing_timestamp", timestamp=None)
case("missing signature", "missing_signature", signature=ABSENT)
case("empty signature", "missing_signature", signature="")
case("missing signature wins over payload too large", "missing_signature",
     body={"repeat_hex": "61", "count": 262145}, signature="")
# 5. size
BIG_OK = {"repeat_hex": "7b", "count": 262144}
BIG_BAD = {"repeat_hex": "7b", "count": 262145}
case("body of exactly 262144 bytes passes", "ok", body=BIG_OK)
case("body of 262145 bytes is too large", "payload_too_large", body=BIG_BAD)
case("payload too large wins over invalid timestamp", "payload_too_large", body=BIG_BAD,
     timestamp="abc")
case("payload too large wins over a wrong signature", "payload_too_large", body=BIG_BAD,
     signature="00" * 32)
case("configured body limit is enforced and named", "payload_too_large",
     body={"utf8": "12345678901"}, config={"max_body_bytes": 10}, expect_kw={"limit": 10})
case("configured body limit boundary passes", "ok", body={"utf8": "1234567890"},
     config={"max_body_bytes": 10})
case("empty body under a zero limit passes", "ok", body={"utf8": ""}, config={"max_body_bytes": 0})
# 6. timestamp format
for bad in ["0", "00", "-1", "+1710000000", "1.5", "1710000000.0", "1e9", "1.71e9", "0x10",
            "abc", "   ", "17 10", "1234567890123456789012345", "18446744073709551616", "١٧١٠"]:
    case(f"invalid timestamp {bad!r}", "invalid_timestamp", timestamp=bad)
case("invalid timestamp wins over a wrong signature", "invalid_timestamp", timestamp="1.5",
     signature="00" * 32)
case("padded timestamp ' 17 ' is accepted and signed as sent", "ok", timestamp=" 17 ", now=17)
case("tab-padded timestamp is accepted", "ok", timestamp="\t1710000000 ")
case("leading zeros are digits", "ok", timestamp="01710000000")
case("padded timestamp signed without its padding does not match", "signature_mismatch",
     timestamp=" 1710000000", signature=sig(SECRET, TS, {"utf8": JSON_BODY}))
# 7. tolerance
case("timestamp exactly 300 s old passes", "ok", now=NOW + 300)
case("timestamp 301 s old is outside", "timestamp_outside_tolerance", now=NOW + 301)
case("timestamp exactly 300 s ahead passes", "ok", now=NOW - 300)
case("timestamp 301 s ahead is outside", "timestamp_outside_tolerance", now=NOW - 301)
case("millisecond timestamp is outside", "timestamp_outside_tolerance", timestamp=TS + "000")
case("configured tolerance is enforced and named", "timestamp_outside_tolerance",
     now=NOW + 61, config={"tolerance_seconds": 60}, expect_kw={"tolerance": 60})
case("tolerance wins over a wrong signature", "timestamp_outside_tolerance", now=NOW + 301,
     signature="00" * 32)
# 8. signature
case("wrong secret", "signature_mismatch", sign_with="othersecret")
case("flipped body byte", "signature_mismatch", body={"utf8": JSON_BODY.replace("updated", "updatec")},
     signature=KNOWN_ANSWERS[0]["signature"])
case("signature of another timestamp", "signature_mismatch", timestamp="1710000001", now=NOW,
     signature=KNOWN_ANSWERS[0]["signature"])
GOOD = KNOWN_ANSWERS[0]["signature"]
case("uppercase signature passes", "ok", signature=GOOD.upper())
case("mixed-case signature passes", "ok", signature=GOOD[:32].upper() + GOOD[32:])
case("whitespace-padded signature passes", "ok", signature=f"  {GOOD}\t")
case("63 hex digits", "signature_mismatch", signature=GOOD[:63])
case("65 hex digits", "signature_mismatch", signature=GOOD + "0")
case("non-hex digit", "signature_mismatch", signature=GOOD[:63] + "g")
case("sha256= prefix is not accepted", "signature_mismatch", signature="sha256=" + GOOD)
case("whitespace-only signature", "signature_mismatch", signature="   ")
case("base64 signature", "signature_mismatch", signature="kl... not hex ...")
case("inner whitespace", "signature_mismatch", signature=GOOD[:32] + " " + GOOD[32:63])
case("key longer than the HMAC block", "ok", config={"secret": LONG_SECRET}, sign_with=LONG_SECRET)
case("key longer than the block is not truncated", "signature_mismatch",
     config={"secret": LONG_SECRET}, sign_with=LONG_SECRET[:64])
case("non-ASCII secret is keyed as UTF-8", "ok", config={"secret": UNICODE_SECRET}, sign_with=UNICODE_SECRET)
case("secret with a trailing newline is another secret", "signature_mismatch",
     config={"secret": SECRET + "\n"})
# Rotation
ROT = {"previous_secret": "oldsecret"}
case("previous secret without rotation time never expires", "ok", config=ROT, sign_with="oldsecret",
     expect_kw={"previous": True})
case("previous secret inside the grace window", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW - 3600}, sign_with="oldsecret",
     expect_kw={"previous": True})
case("previous secret at the grace boundary passes", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW - 86400}, sign_with="oldsecret",
     expect_kw={"previous": True})
case("previous secret one second past the grace window", "previous_secret_expired",
     config={**ROT, "previous_secret_rotated_at": NOW - 86401}, sign_with="oldsecret")
case("unknown signature after the grace window says the previous secret expired",
     "previous_secret_expired", config={**ROT, "previous_secret_rotated_at": NOW - 86401},
     sign_with="stranger")
case("malformed signature after the grace window says the previous secret expired",
     "previous_secret_expired", config={**ROT, "previous_secret_rotated_at": NOW - 86401},
     signature="nothex")
case("whitespace-only signature after the grace window says the previous secret expired",
     "previous_secret_expired", config={**ROT, "previous_secret_rotated_at": NOW - 86401},
     signature="   ")
case("63 hex digits after the grace window says the previous secret expired",
     "previous_secret_expired", config={**ROT, "previous_secret_rotated_at": NOW - 86401},
     signature=GOOD[:63])
case("malformed signature inside the grace window is a mismatch", "signature_mismatch",
     config={**ROT, "previous_secret_rotated_at": NOW - 10}, signature="nothex")
case("current secret still passes after the grace window", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW - 86401})
case("current secret passes during rotation", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW - 10})
case("neither secret matches during rotation", "signature_mismatch",
     config={**ROT, "previous_secret_rotated_at": NOW - 10}, sign_with="stranger")
case("configured grace window boundary passes", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW - 60, "grace_window_seconds": 60},
     sign_with="oldsecret", expect_kw={"previous": True})
case("configured grace window exceeded", "previous_secret_expired",
     config={**ROT, "previous_secret_rotated_at": NOW - 61, "grace_window_seconds": 60},
     sign_with="oldsecret")
case("rotation time in the future does not expire", "ok",
     config={**ROT, "previous_secret_rotated_at": NOW + 1000}, sign_with="oldsecret",
     expect_kw={"previous": True})
case("empty previous secret means none", "signature_mismatch",
     config={"previous_secret": ""}, sign_with="")
case("tolerance wins over an expired previous secret", "timestamp_outside_tolerance",
     config={**ROT, "previous_secret_rotated_at": NOW - 86401}, sign_with="oldsecret", now=NOW + 400)
# 9. replay
case("duplicate delivery id", "duplicate_delivery", prior=[prior("dlv_1")])
case("retry of the same delivery with a fresh signature is a duplicate", "duplicate_delivery",
     timestamp="1710000060", now=NOW + 60, prior=[prior("dlv_1")])
case("captured request replayed with a swapped id", "replayed_signature", delivery_id="dlv_2",
     prior=[prior("dlv_1")])
case("replay with the signature in uppercase is still a replay", "replayed_signature",
     delivery_id="dlv_2", signature=GOOD.upper(), prior=[prior("dlv_1")])
case("different delivery ids with different signatures pass", "ok", delivery_id="dlv_2",
     timestamp="1710000001", prior=[prior("dlv_1")])
case("unsigned request with a seen id is a mismatch, not a duplicate", "signature_mismatch",
     signature="00" * 32, prior=[prior("dlv_1")])
case("unsigned request does not poison the store", "ok",
     prior=[{**prior("dlv_1"), "expect_code": "signature_mismatch"}])
cases[-1]["prior"][0]["headers"]["signature"] = "00" * 32
case("full replay store answers consumer_overloaded", "consumer_overloaded", delivery_id="dlv_2",
     timestamp="1710000001", prior=[prior("dlv_1")], replay={"capacity": 1})
case("duplicate wins over a full store", "duplicate_delivery", prior=[prior("dlv_1")],
     replay={"capacity": 1})
case("delivery id forgotten after its retention", "ok", timestamp="1710090000", now=1710090000,
     prior=[prior("dlv_1")], replay={"capacity": 1, "delivery_retention_seconds": 86400})
case("delivery id kept at its retention boundary", "duplicate_delivery", timestamp="1710086400",
     now=1710086400, prior=[prior("dlv_1")], replay={"capacity": 1, "delivery_retention_seconds": 86400})
case("short retention is honoured", "ok", timestamp="1710000061", now=NOW + 61,
     prior=[prior("dlv_1")], replay={"delivery_retention_seconds": 60})

# Every prior delivery is expected to be accepted unless it says otherwise.
for entry in cases:
    for p in entry.get("prior", []):
        p.setdefault("expect_code", "ok")

codes_covered = {entry["expect"]["code"] for entry in cases}
# delivery_in_progress needs a reservation: the reservation cases below cover it.
assert codes_covered == set(STATUS) - {"delivery_in_progress"}, set(STATUS) - codes_covered
names = [entry["name"] for entry in cases]
assert len(names) == len(set(names)), "case names must be unique"


# Two-phase replay: sequences of reservations (reserve, then commit or release) and one-step
# verifications against one store. A sender re-signs every attempt, so a retry carries a new
# timestamp and signature under the same delivery id.
reservation_cases = []


def attempt(delivery_id, at, *, timestamp=None, signature_of=None):
    timestamp = str(at) if timestamp is None else timestamp
    body = {"utf8": JSON_BODY}
    return {
        "headers": {"delivery_id": delivery_id, "timestamp": timestamp,
                    "signature": signature_of or sig(SECRET, timestamp, body)},
        "body": body,
        "now": at,
    }


def rcase(name, steps, lease=60, replay=None):
    entry = {"name": name, "config": {"secret": SECRET}, "lease_seconds": lease, "steps": steps}
    if replay:
        entry["replay"] = replay
    reservation_cases.append(entry)


def reserve(delivery, code):
    return {"op": "reserve", "delivery": delivery, "expect": expect(code)}


def verify_step(delivery, code):
    return {"op": "verify", "delivery": delivery, "expect": expect(code)}


def settle(op, of, now, done=True):
    return {"op": op, "of": of, "now": now, "expect": done}


T0 = NOW
rcase("a handler failure releases: the retry is processed, the next one is a duplicate", [
    reserve(attempt("dlv_1", T0), "ok"),
    settle("release", 0, T0 + 1),
    reserve(attempt("dlv_1", T0 + 30), "ok"),
    settle("commit", 2, T0 + 31),
    reserve(attempt("dlv_1", T0 + 90), "duplicate_delivery"),
    verify_step(attempt("dlv_1", T0 + 91), "duplicate_delivery"),
])
rcase("a concurrent attempt of a reserved delivery is in progress, never a duplicate", [
    reserve(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_1", T0 + 1), "delivery_in_progress"),
    verify_step(attempt("dlv_1", T0 + 2), "delivery_in_progress"),
    settle("commit", 0, T0 + 3),
    reserve(attempt("dlv_1", T0 + 4), "duplicate_delivery"),
])
rcase("a reservation neither committed nor released expires with its lease", [
    reserve(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_1", T0 + 60), "delivery_in_progress"),
    reserve(attempt("dlv_1", T0 + 61), "ok"),
    settle("commit", 0, T0 + 62, done=False),
    settle("release", 0, T0 + 62, done=False),
    settle("commit", 2, T0 + 62),
    reserve(attempt("dlv_1", T0 + 63), "duplicate_delivery"),
])
rcase("a configured lease is honoured", [
    reserve(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_1", T0 + 5), "delivery_in_progress"),
    reserve(attempt("dlv_1", T0 + 6), "ok"),
], lease=5)
rcase("a commit or release settles a reservation once", [
    reserve(attempt("dlv_1", T0), "ok"),
    settle("commit", 0, T0 + 1),
    settle("commit", 0, T0 + 2, done=False),
    settle("release", 0, T0 + 2, done=False),
    verify_step(attempt("dlv_1", T0 + 3), "duplicate_delivery"),
])
SIG0 = sig(SECRET, str(T0), {"utf8": JSON_BODY})
rcase("a reserved or released pair is refused under another delivery id", [
    reserve(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_2", T0, signature_of=SIG0), "replayed_signature"),
    settle("release", 0, T0 + 1),
    reserve(attempt("dlv_2", T0 + 2, timestamp=str(T0), signature_of=SIG0), "replayed_signature"),
    verify_step(attempt("dlv_2", T0 + 2, timestamp=str(T0), signature_of=SIG0), "replayed_signature"),
    reserve(attempt("dlv_1", T0 + 3, timestamp=str(T0), signature_of=SIG0), "ok"),
])
rcase("one-step verification and reservations share the store", [
    verify_step(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_1", T0 + 1), "duplicate_delivery"),
    reserve(attempt("dlv_2", T0 + 1), "ok"),
    verify_step(attempt("dlv_2", T0 + 2), "delivery_in_progress"),
])
rcase("a full store refuses a reservation; a release does not free the pair's place", [
    reserve(attempt("dlv_1", T0), "ok"),
    reserve(attempt("dlv_2", T0 + 1), "consumer_overloaded"),
    settle("release", 0, T0 + 1),
    reserve(attempt("dlv_2", T0 + 2), "consumer_overloaded"),
    reserve(attempt("dlv_1", T0 + 3, timestamp=str(T0), signature_of=SIG0), "ok"),
], replay={"capacity": 1})
r_names = [c["name"] for c in reservation_cases]
assert len(r_names) == len(set(r_names)), "reservation case names must be unique"
assert "delivery_in_progress" in {step["expect"]["code"] for c in reservation_cases
                                  for step in c["steps"] if isinstance(step["expect"], dict)}

# Header maps: the same delivery as (name, value) pairs, in the order received. Each
# runtime turns the pairs into every header form it accepts (a plain object or dict, a
# list of pairs, its frameworks' header objects) and must answer the same.
header_cases = []
GOOD_TS = TS


def hcase(name, code, pairs, *, body=None, now=NOW, config=None, expect_kw=None):
    header_cases.append({
        "name": name,
        "config": {"secret": SECRET, **(config or {})},
        "header_pairs": [list(pair) for pair in pairs],
        "body": body if body is not None else {"utf8": JSON_BODY},
        "now": now,
        "expect": expect(code, **(expect_kw or {})),
    })


def spelled(style):
    names = {"delivery_id": "x-fluxora-delivery-id", "timestamp": "x-fluxora-timestamp",
             "signature": "x-fluxora-signature", "event": "x-fluxora-event"}
    return {key: style(value) for key, value in names.items()}


def title(name):
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def swap(name):
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


for style_name, style in [("lowercase", str), ("Title-Case", title), ("UPPERCASE", str.upper),
                          ("aLtErNaTiNg", swap)]:
    n = spelled(style)
    hcase(f"{style_name} header names", "ok",
          [(n["delivery_id"], "dlv_1"), (n["timestamp"], TS), (n["signature"], GOOD),
           (n["event"], "stream.updated")])
hcase("each header spelled differently", "ok",
      [("X-Fluxora-Delivery-Id", "dlv_1"), ("x-fluxora-timestamp", TS), ("X-FLUXORA-SIGNATURE", GOOD)])
hcase("unrelated headers around the contract headers", "ok",
      [("Content-Type", "application/json"), ("X-Fluxora-Delivery-Id", "dlv_1"),
       ("User-Agent", "fluxora/1"), ("X-Fluxora-Timestamp", TS), ("X-Fluxora-Signature", GOOD),
       ("Accept", "*/*")])
hcase("Title-Case delivery id missing", "missing_delivery_id",
      [("X-Fluxora-Timestamp", TS), ("X-Fluxora-Signature", GOOD)])
hcase("Title-Case signature empty", "missing_signature",
      [("X-Fluxora-Delivery-Id", "dlv_1"), ("X-Fluxora-Timestamp", TS), ("X-Fluxora-Signature", "")])
hcase("near-miss names are other headers", "missing_delivery_id",
      [("x_fluxora_delivery_id", "dlv_1"), ("x-fluxora-deliveryid", "dlv_1"),
       ("x-fluxora-timestamp", TS), ("x-fluxora-signature", GOOD)])
BAD = "00" * 32
hcase("repeated signature, good then bad, never verifies", "signature_mismatch",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", GOOD), ("x-fluxora-signature", BAD)])
hcase("repeated signature, bad then good, never verifies", "signature_mismatch",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", BAD), ("x-fluxora-signature", GOOD)])
hcase("repeated identical signature never verifies", "signature_mismatch",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", GOOD), ("x-fluxora-signature", GOOD)])
hcase("repeated signature in two spellings never verifies", "signature_mismatch",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("X-Fluxora-Signature", GOOD), ("x-fluxora-signature", GOOD)])
hcase("repeated empty signatures are one non-empty value", "signature_mismatch",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", ""), ("x-fluxora-signature", "")])
hcase("repeated timestamp is not an integer", "invalid_timestamp",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("X-Fluxora-Timestamp", TS), ("x-fluxora-signature", GOOD)])
hcase("repeated signature after the grace window says the previous secret expired",
      "previous_secret_expired",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", GOOD), ("x-fluxora-signature", GOOD)],
      config={"previous_secret": "oldsecret", "previous_secret_rotated_at": NOW - 86401})
# The delivery id is not signed: a repeated one is one (odd) id, and the delivery verifies.
hcase("repeated delivery id is combined into one id", "ok",
      [("x-fluxora-delivery-id", "dlv_1"), ("X-Fluxora-Delivery-Id", "dlv_1"),
       ("x-fluxora-timestamp", TS), ("x-fluxora-signature", GOOD)])
hcase("repeated event header does not matter", "ok",
      [("x-fluxora-delivery-id", "dlv_1"), ("x-fluxora-timestamp", TS),
       ("x-fluxora-signature", GOOD), ("x-fluxora-event", "a"), ("X-Fluxora-Event", "b")])
h_names = [h["name"] for h in header_cases]
assert len(h_names) == len(set(h_names)), "header case names must be unique"

# Settings: a verifier built from these options must fail with this field and problem
# (snake_case field names; each runtime spells them its own way in messages).
settings_cases = []


def scase(name, config, field, problem):
    settings_cases.append({"name": name, "config": config,
                           "expect": {"field": field, "problem": problem}})


scase("no secret", {}, "secret", "missing")
scase("null secret", {"secret": None}, "secret", "missing")
scase("empty secret", {"secret": ""}, "secret", "missing")
scase("numeric secret", {"secret": 42}, "secret", "wrong_type")
scase("numeric previous secret", {"secret": SECRET, "previous_secret": 42}, "previous_secret",
      "wrong_type")
for field in ["tolerance_seconds", "max_body_bytes", "grace_window_seconds",
              "previous_secret_rotated_at"]:
    scase(f"negative {field}", {"secret": SECRET, field: -1}, field, "out_of_range")
    scase(f"fractional {field}", {"secret": SECRET, field: 1.5}, field, "not_whole")
    scase(f"{field} past 2^53 - 1", {"secret": SECRET, field: 9007199254740992}, field,
          "out_of_range")
    scase(f"{field} as text", {"secret": SECRET, field: "300"}, field, "wrong_type")
    scase(f"{field} as a boolean", {"secret": SECRET, field: True}, field, "wrong_type")
scase("tolerance of 1e300", {"secret": SECRET, "tolerance_seconds": 1e300}, "tolerance_seconds",
      "out_of_range")
scase("replay capacity 0", {"secret": SECRET, "replay": {"capacity": 0}}, "capacity",
      "out_of_range")
scase("fractional replay capacity", {"secret": SECRET, "replay": {"capacity": 2.5}}, "capacity",
      "not_whole")
scase("replay retention 0", {"secret": SECRET, "replay": {"delivery_retention_seconds": 0}},
      "delivery_retention_seconds", "out_of_range")
scase("negative replay retention", {"secret": SECRET, "replay": {"delivery_retention_seconds": -60}},
      "delivery_retention_seconds", "out_of_range")
scase("the first bad setting wins", {"secret": SECRET, "tolerance_seconds": -1,
                                     "max_body_bytes": -1}, "tolerance_seconds", "out_of_range")
scase("the grace window is checked before the tolerance", {"tolerance_seconds": 1.5, "secret": SECRET,
                                                          "grace_window_seconds": -2},
      "grace_window_seconds", "out_of_range")
s_names = [c["name"] for c in settings_cases]
assert len(s_names) == len(set(s_names)), "settings case names must be unique"

# Decimal cases: "amount" applies Stellar precision (7 fractional digits) and stroops.
decimal_cases = []


def dec(value, code=None, normalized=None, stroops=None, amount=True, name=None):
    entry = {"name": name or f"{value!r}", "input": value, "amount": amount}
    if code:
        entry["expect"] = {"valid": False, "code": code}
    else:
        entry["expect"] = {"valid": True, "normalized": normalized}
        if stroops is not None:
            entry["expect"]["stroops"] = str(stroops)
    decimal_cases.append(entry)


dec("100", normalized="100", stroops=1000000000)
dec("100.50", normalized="100.5", stroops=1005000000)
dec("1.0000000", normalized="1", stroops=10000000)
dec("1.5", normalized="1.5", stroops=15000000)
dec("-1.5", normalized="-1.5", stroops=-15000000)
dec("+2.25", normalized="+2.25", stroops=22500000)
dec("0.0000001", normalized="0.0000001", stroops=1)
dec("007.10", normalized="007.1", stroops=71000000)
dec("0", normalized="0", stroops=0)
dec("-0.0", normalized="-0", stroops=0)
dec("9223372036854775807", normalized="9223372036854775807", stroops=92233720368547758070000000)
dec("-9223372036854775807.9999999", normalized="-9223372036854775807.9999999",
    stroops=-92233720368547758079999999)
dec("9223372036854775808", "DECIMAL_OUT_OF_RANGE")
dec("-9223372036854775808", "DECIMAL_OUT_OF_RANGE")
dec("00000000000000000000009223372036854775807", normalized="00000000000000000000009223372036854775807",
    stroops=92233720368547758070000000)
dec("0.00000001", "DECIMAL_PRECISION_EXCEEDED")
dec("1.00000000", "DECIMAL_PRECISION_EXCEEDED", name="'1.00000000' (precision counts digits as written)")
dec("0.00000001", normalized="0.00000001", amount=False, name="'0.00000001' without Stellar precision")
dec("99999999999999999999", "DECIMAL_OUT_OF_RANGE", name="out of range is checked before precision")
decimal_cases.append({"name": "out of range wins over precision", "input": "99999999999999999999.123456789",
                      "amount": True, "expect": {"valid": False, "code": "DECIMAL_OUT_OF_RANGE"}})
for bad in [".5", "5.", "1e10", "1.2.3", " 100", "100 ", "Infinity", "NaN", "abc", "--1", "+-1",
            "1,000", "0x10", "١٠٠", "+", "-", "1_000"]:
    dec(bad, "DECIMAL_INVALID_FORMAT")
for empty in ["", "   ", "\t\n"]:
    dec(empty, "DECIMAL_EMPTY_VALUE")
dec(None, "DECIMAL_EMPTY_VALUE", name="null")
dec(100, "DECIMAL_INVALID_TYPE", name="JSON number")
dec(1.5, "DECIMAL_INVALID_TYPE", name="JSON float")
dec(True, "DECIMAL_INVALID_TYPE", name="JSON bool")
dec({"amount": "1"}, "DECIMAL_INVALID_TYPE", name="JSON object")
dec(["1"], "DECIMAL_INVALID_TYPE", name="JSON list")
dec_names = [d["name"] for d in decimal_cases]
assert len(dec_names) == len(set(dec_names)), "decimal case names must be unique"

document = {
    "about": "Fluxora webhook conformance cases. Every runtime (Rust core and facade, Python, Node, "
             "wasm), the server's receiver and the CLI run every case and must give the same code, status and message. Generated by "
             "conformance/generate.py; signatures computed with Python's standard-library hmac.",
    "defaults": {"tolerance_seconds": 300, "max_body_bytes": 262144, "grace_window_seconds": 86400,
                 "replay": {"capacity": 1024, "delivery_retention_seconds": 86400}},
    "how_to_run": [
        "Build a verifier from `config` (missing keys take `defaults`; secret null means none).",
        "Use one fresh replay store per case, sized by `replay` (or the defaults).",
        "Verify each `prior` delivery in order with its own `now`; its code must be `expect_code`.",
        "Verify the case's delivery at `now`; code, status, message and used_previous_secret "
        "(for ok) must equal `expect`.",
        "Headers that are null are absent. Bodies: {utf8}, {hex} or {repeat_hex, count}.",
        "Decimal cases: `input` is any JSON value; `amount` true applies the 7-digit precision "
        "and, when valid, `stroops` (a decimal string) must equal the conversion.",
        "Reservation cases: run `steps` in order against one store (sized by `replay`) and a "
        "reservation lease of `lease_seconds`: `reserve` and `verify` (one step) a delivery, whose "
        "result must equal `expect`; `commit` and `release` the reservation made by step `of` at "
        "`now`, answering `expect` (false: the reservation was lost or already settled).",
        "Header cases: `header_pairs` are the request's header fields in order; turn them into "
        "every header form the runtime accepts and verify with a fresh store at `now`.",
        "Settings cases: building a verifier from `config` must fail with `field` (snake_case) "
        "and `problem`: missing, wrong_type, not_whole, out_of_range or invalid_text. Settings are "
        "checked in this order: secret, previous_secret, previous_secret_rotated_at, "
        "grace_window_seconds, tolerance_seconds, max_body_bytes, then the replay options.",
    ],
    "known_answers": KNOWN_ANSWERS,
    "signature_cases": cases,
    "reservation_cases": reservation_cases,
    "header_cases": header_cases,
    "settings_cases": settings_cases,
    "decimal_cases": decimal_cases,
}
out = pathlib.Path(__file__).with_name("cases.json")
out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} signature, {len(reservation_cases)} reservation, {len(header_cases)} "
      f"header, {len(settings_cases)} settings and {len(decimal_cases)} decimal cases to {out}")
