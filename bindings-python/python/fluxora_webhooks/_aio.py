"""The awaiting behind ``verify_async``, ``reserve_async`` and ``Reservation.commit_async``.

The native module runs every check and computes every Redis call at once; only awaiting an
asyncio store's reply is left to Python. Nothing here decides anything.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


async def ready(value: T) -> T:
    """An answer that needed no I/O."""
    return value


async def after(step: Callable[[Any], T], io: Awaitable[Any]) -> T:
    """Awaits the store's reply, then lets the native ``step`` conclude with it."""
    return step(await io)


async def discard(awaitable: Awaitable[Any]) -> None:
    """Awaits and answers None (``__aexit__`` must never swallow the exception)."""
    await awaitable
