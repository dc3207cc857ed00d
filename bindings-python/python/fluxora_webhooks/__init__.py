"""Verify and sign Fluxora webhooks with the Rust core.

Every check, code, status and message comes from the ``fluxora-webhooks`` Rust crate;
this package converts types and adds Python conveniences (header sets for tests,
framework helpers, a Redis replay store).

>>> from fluxora_webhooks import Verifier, sign
>>> verifier = Verifier("topsecret")
>>> body = b'{"event":"stream.updated"}'
>>> headers = sign("topsecret", body, delivery_id="dlv_1", timestamp=1710000000)
>>> verifier.verify(body, headers, now=1710000000).code
'ok'
"""

from __future__ import annotations

import time
import uuid
from typing import Dict, Optional, Union

from ._native import (
    CONSUMER_OVERLOADED,
    DECIMAL_CODES,
    DECIMAL_EMPTY_VALUE,
    DECIMAL_INVALID_FORMAT,
    DECIMAL_INVALID_TYPE,
    DECIMAL_OUT_OF_RANGE,
    DECIMAL_PRECISION_EXCEEDED,
    DEFAULT_DELIVERY_RETENTION_SECONDS,
    DEFAULT_GRACE_WINDOW_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REPLAY_CAPACITY,
    DEFAULT_TOLERANCE_SECONDS,
    DUPLICATE_DELIVERY,
    HEADER_DELIVERY_ID,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    INVALID_TIMESTAMP,
    MISSING_DELIVERY_ID,
    MISSING_SECRET,
    MISSING_SIGNATURE,
    MISSING_TIMESTAMP,
    OK,
    OUTCOME_CODES,
    OUTCOME_STATUSES,
    PAYLOAD_TOO_LARGE,
    PREVIOUS_SECRET_EXPIRED,
    REPLAYED_SIGNATURE,
    SIGNATURE_MISMATCH,
    TIMESTAMP_OUTSIDE_TOLERANCE,
    ConsumerOverloadedError,
    DecimalError,
    MemoryReplayStore,
    MissingHeaderError,
    NoReplayStore,
    PayloadTooLargeError,
    ReplayDetectedError,
    SignatureVerificationError,
    TimestampError,
    Verification,
    Verifier,
    WebhookConfigurationError,
    WebhookVerificationError,
    compute_signature,
    parse_amount,
    parse_decimal,
    to_stroops,
    verify,
)
from ._redis import RedisReplayStore

Body = Union[bytes, bytearray, memoryview]


def sign(
    secret: Union[str, bytes],
    body: Body,
    *,
    delivery_id: Optional[str] = None,
    event: Optional[str] = None,
    timestamp: Union[int, str, None] = None,
) -> Dict[str, str]:
    """A complete, signed header set for ``body``, for tests and senders.

    ``timestamp`` defaults to now, ``delivery_id`` to a fresh ``dlv_<uuid>``; the
    ``x-fluxora-event`` header is included only when ``event`` is given (it is not signed).
    """
    stamp = str(int(time.time())) if timestamp is None else str(timestamp)
    headers = {
        HEADER_DELIVERY_ID: delivery_id if delivery_id is not None else f"dlv_{uuid.uuid4().hex}",
        HEADER_TIMESTAMP: stamp,
        HEADER_SIGNATURE: compute_signature(secret, stamp, body),
    }
    if event is not None:
        headers[HEADER_EVENT] = event
    return headers


__all__ = [
    "Body",
    "CONSUMER_OVERLOADED",
    "DECIMAL_CODES",
    "DECIMAL_EMPTY_VALUE",
    "DECIMAL_INVALID_FORMAT",
    "DECIMAL_INVALID_TYPE",
    "DECIMAL_OUT_OF_RANGE",
    "DECIMAL_PRECISION_EXCEEDED",
    "DEFAULT_DELIVERY_RETENTION_SECONDS",
    "DEFAULT_GRACE_WINDOW_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_REPLAY_CAPACITY",
    "DEFAULT_TOLERANCE_SECONDS",
    "DUPLICATE_DELIVERY",
    "HEADER_DELIVERY_ID",
    "HEADER_EVENT",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "INVALID_TIMESTAMP",
    "MISSING_DELIVERY_ID",
    "MISSING_SECRET",
    "MISSING_SIGNATURE",
    "MISSING_TIMESTAMP",
    "OK",
    "OUTCOME_CODES",
    "OUTCOME_STATUSES",
    "PAYLOAD_TOO_LARGE",
    "PREVIOUS_SECRET_EXPIRED",
    "REPLAYED_SIGNATURE",
    "SIGNATURE_MISMATCH",
    "TIMESTAMP_OUTSIDE_TOLERANCE",
    "ConsumerOverloadedError",
    "DecimalError",
    "MemoryReplayStore",
    "MissingHeaderError",
    "NoReplayStore",
    "PayloadTooLargeError",
    "RedisReplayStore",
    "ReplayDetectedError",
    "SignatureVerificationError",
    "TimestampError",
    "Verification",
    "Verifier",
    "WebhookConfigurationError",
    "WebhookVerificationError",
    "compute_signature",
    "parse_amount",
    "parse_decimal",
    "sign",
    "to_stroops",
    "verify",
]
