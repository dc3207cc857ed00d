"""A replay store shared by several worker processes through one Redis."""

from __future__ import annotations

from typing import Any, Optional

from ._native import (
    REDIS_DEFAULT_PREFIX,
    REDIS_SCRIPT,
    redis_delivery_key,
    redis_eval_arguments,
    redis_signature_key,
    redis_verdict,
    replay_retention_seconds,
)


class RedisReplayStore:
    """Replay protection shared through Redis (``redis`` package client, sync API).

    The script, its keys and expiries are the Rust facade's, the same the Node package's
    ``RedisReplayStore`` uses: Python and Node receivers sharing one Redis catch each
    other's duplicates. One atomic step checks the delivery id first, then the
    (timestamp, signature) pair, and records both only when both are new. Delivery ids
    are remembered for ``delivery_retention_seconds`` (None: the default, 86400); a
    pair until ``timestamp + tolerance``. Redis expires keys itself, so the store never
    answers ``consumer_overloaded``; a Redis error propagates from ``verify`` as the
    client's exception (answer 5xx so the sender retries).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = REDIS_DEFAULT_PREFIX,
        delivery_retention_seconds: Optional[int] = None,
    ) -> None:
        self._retention = replay_retention_seconds(delivery_retention_seconds)
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(REDIS_SCRIPT)

    @property
    def prefix(self) -> str:
        """The key prefix of this store."""
        return self._prefix

    @property
    def delivery_retention_seconds(self) -> int:
        """How long an accepted delivery id is remembered, in seconds."""
        return self._retention

    def delivery_key(self, delivery_id: str) -> str:
        """The Redis key remembering ``delivery_id`` (a SHA-256 of its UTF-8)."""
        return redis_delivery_key(self._prefix, delivery_id)

    def signature_key(self, timestamp: int, signature: bytes) -> str:
        """The Redis key remembering a (timestamp, signature) pair."""
        return redis_signature_key(self._prefix, timestamp, signature)

    def check_and_record(
        self,
        delivery_id: str,
        timestamp: int,
        signature: bytes,
        now: int,
        signature_expires_at: int,
    ) -> str:
        """Called by the verifier after a signature matched; answers an outcome code."""
        keys, args = redis_eval_arguments(
            self._prefix, delivery_id, timestamp, signature, now, signature_expires_at, self._retention
        )
        return redis_verdict(int(self._script(keys=keys, args=args)))

    def __repr__(self) -> str:
        return (
            f"RedisReplayStore(prefix={self._prefix!r}, "
            f"delivery_retention_seconds={self._retention})"
        )
