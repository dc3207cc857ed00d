"""A replay store shared by several worker processes through one Redis."""

from __future__ import annotations

from typing import Any

from ._native import DEFAULT_DELIVERY_RETENTION_SECONDS

# One atomic step, in the core's order: the delivery id first, then the (timestamp,
# signature) pair, each recorded with SET NX and an expiry. A replayed pair un-records
# the id it has just set, so a captured request with a swapped id leaves nothing behind.
_CHECK_AND_RECORD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 'duplicate_delivery'
end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 'replayed_signature'
end
return 'ok'
"""


class RedisReplayStore:
    """Replay protection shared through Redis (``redis`` package client, sync API).

    Delivery ids are remembered for ``delivery_retention_seconds``; a (timestamp,
    signature) pair until ``timestamp + tolerance``. Redis expires keys itself, so the
    store never answers ``consumer_overloaded``; a Redis error propagates from
    ``verify`` as the client's exception (answer 5xx so the sender retries).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "fluxora:replay:",
        delivery_retention_seconds: int = DEFAULT_DELIVERY_RETENTION_SECONDS,
    ) -> None:
        if delivery_retention_seconds < 1:
            raise ValueError("delivery_retention_seconds must be at least 1")
        self._client = client
        self._prefix = prefix
        self._retention = int(delivery_retention_seconds)
        self._script = client.register_script(_CHECK_AND_RECORD)

    @property
    def prefix(self) -> str:
        """The key prefix of this store."""
        return self._prefix

    @property
    def delivery_retention_seconds(self) -> int:
        """How long an accepted delivery id is remembered, in seconds."""
        return self._retention

    def delivery_key(self, delivery_id: str) -> str:
        """The Redis key remembering ``delivery_id``."""
        return f"{self._prefix}id:{delivery_id}"

    def signature_key(self, timestamp: int, signature: bytes) -> str:
        """The Redis key remembering a (timestamp, signature) pair."""
        return f"{self._prefix}sig:{timestamp}:{signature.hex()}"

    def check_and_record(
        self,
        delivery_id: str,
        timestamp: int,
        signature: bytes,
        now: int,
        signature_expires_at: int,
    ) -> str:
        """Called by the verifier after a signature matched; answers an outcome code."""
        signature_ttl = max(1, signature_expires_at - now + 1)
        answer = self._script(
            keys=[self.delivery_key(delivery_id), self.signature_key(timestamp, signature)],
            args=[self._retention, signature_ttl],
        )
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def __repr__(self) -> str:
        return (
            f"RedisReplayStore(prefix={self._prefix!r}, "
            f"delivery_retention_seconds={self._retention})"
        )
