"""Replay stores shared by several worker processes through one Redis (sync and asyncio)."""

from __future__ import annotations

from typing import Any, List, Optional

from ._native import (
    REDIS_DEFAULT_PREFIX,
    REDIS_SCRIPT,
    redis_delivery_key,
    redis_eval_arguments,
    redis_signature_key,
    redis_verdict,
    replay_retention_seconds,
)


class _RedisStoreBase:
    """What both Redis stores share: the facade's script, keys and validated retention."""

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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(prefix={self._prefix!r}, "
            f"delivery_retention_seconds={self._retention})"
        )


class RedisReplayStore(_RedisStoreBase):
    """Replay protection shared through Redis (``redis`` package client, sync API).

    The script, its keys, expiries, modes and reservation tokens are the Rust facade's, the
    same the Node package's ``RedisReplayStore`` uses: Python and Node receivers sharing
    one Redis catch each other's duplicates and see each other's reservations. One atomic
    step checks the delivery id first, then the (timestamp, signature) pair, and records
    (``verify``) or reserves (``reserve``, for the verifier's ``reservation_lease_seconds``)
    both only when both are free; a commit or a release acts only for the reservation's
    own token while its lease runs. Delivery ids are remembered for
    ``delivery_retention_seconds`` (None: the default, 86400) once committed; a pair until
    ``timestamp + tolerance``. Redis expires keys itself, so the store never answers
    ``consumer_overloaded``, and a reservation whose process died frees the id when its
    lease ends. A Redis error propagates as the client's exception (answer 5xx so the
    sender retries).

    In asyncio receivers (FastAPI, Starlette) use ``AsyncRedisReplayStore`` instead: this
    store's calls block the event loop.
    """

    def run_script(self, keys: List[str], args: List[str]) -> int:
        """Runs ``REDIS_SCRIPT`` (EVALSHA, loading it when Redis lacks it) with the keys and
        arguments the verifier computed; answers the script's integer reply."""
        return int(self._script(keys=keys, args=args))

    def check_and_record(
        self,
        delivery_id: str,
        timestamp: int,
        signature: bytes,
        now: int,
        signature_expires_at: int,
    ) -> str:
        """The one-step record of an accepted delivery; answers an outcome code.

        A verifier does not call it (it runs the script through ``run_script``); it is kept
        for code that drives the store by hand.
        """
        keys, args = redis_eval_arguments(
            self._prefix, delivery_id, timestamp, signature, now, signature_expires_at, self._retention
        )
        return redis_verdict(self.run_script(keys, args))


class AsyncRedisReplayStore(_RedisStoreBase):
    """``RedisReplayStore`` for asyncio receivers, on a ``redis.asyncio`` client.

    Same script, keys, expiries and tokens (so it shares deliveries with sync and Node
    receivers). Use it with the verifier's awaitable forms: ``await
    verifier.verify_async(...)``, ``await verifier.reserve_async(...)``, ``await
    reservation.commit_async()`` / ``release_async()`` or ``async with``; the FastAPI /
    Starlette helpers do. The synchronous forms raise ``TypeError`` with this store.
    """

    async def run_script(self, keys: List[str], args: List[str]) -> int:
        """Runs ``REDIS_SCRIPT`` with the keys and arguments the verifier computed."""
        return int(await self._script(keys=keys, args=args))
