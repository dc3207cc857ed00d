"""Verify and sign Fluxora webhooks with the Rust core.

Every check, code, status and message comes from the Rust crates ``fluxora-webhooks``
(the core) and ``fluxora-webhooks-facade`` (header lookup, settings validation, replay
verdicts, signed header sets, the Redis script); this package converts types and adds
Python conveniences (framework helpers, Redis replay stores, the awaitable forms).

>>> from fluxora_webhooks import Verifier, sign
>>> verifier = Verifier("topsecret")
>>> body = b'{"event":"stream.updated"}'
>>> headers = sign("topsecret", body, delivery_id="dlv_1", timestamp=1710000000)
>>> verifier.verify(body, headers, now=1710000000).code
'ok'
"""

from __future__ import annotations

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
    DEFAULT_RESERVATION_LEASE_SECONDS,
    DEFAULT_TOLERANCE_SECONDS,
    DELIVERY_IN_PROGRESS,
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
    REDIS_DEFAULT_PREFIX,
    REPLAYED_SIGNATURE,
    SIGNATURE_MISMATCH,
    TIMESTAMP_OUTSIDE_TOLERANCE,
    ConsumerOverloadedError,
    DecimalError,
    DeliveryInProgressError,
    MemoryReplayStore,
    MissingHeaderError,
    NoReplayStore,
    PayloadTooLargeError,
    ReplayDetectedError,
    Reservation,
    SettingsError,
    SettingsTypeError,
    SignatureVerificationError,
    TimestampError,
    Verification,
    Verifier,
    WebhookConfigurationError,
    WebhookVerificationError,
    compute_signature,
    parse_amount,
    parse_decimal,
    signed_headers,
    to_stroops,
    verify,
)
from ._redis import AsyncRedisReplayStore, RedisReplayStore

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

    ``timestamp`` defaults to now, ``delivery_id`` to a fresh ``dlv_`` + 32 hex digits; the
    ``x-fluxora-event`` header is included only when ``event`` is given (it is not signed).
    The set is the Rust facade's (``signed_headers``), the same every runtime produces.
    """
    return signed_headers(secret, body, timestamp=timestamp, delivery_id=delivery_id, event=event)


__all__ = [
    "AsyncRedisReplayStore",
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
    "DEFAULT_RESERVATION_LEASE_SECONDS",
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_IN_PROGRESS",
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
    "REDIS_DEFAULT_PREFIX",
    "REPLAYED_SIGNATURE",
    "SIGNATURE_MISMATCH",
    "TIMESTAMP_OUTSIDE_TOLERANCE",
    "ConsumerOverloadedError",
    "DecimalError",
    "DeliveryInProgressError",
    "MemoryReplayStore",
    "MissingHeaderError",
    "NoReplayStore",
    "PayloadTooLargeError",
    "RedisReplayStore",
    "ReplayDetectedError",
    "Reservation",
    "SettingsError",
    "SettingsTypeError",
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
    "signed_headers",
    "to_stroops",
    "verify",
]
