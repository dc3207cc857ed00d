"""Type stubs of the native module ``fluxora_webhooks._native`` (PyO3, Rust core)."""

from types import TracebackType
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Tuple,
    Type,
    Union,
    final,
)

from typing_extensions import Self

__all__ = [
    "Verifier",
    "Verification",
    "Reservation",
    "MemoryReplayStore",
    "NoReplayStore",
    "verify",
    "compute_signature",
    "signed_headers",
    "parse_decimal",
    "parse_amount",
    "to_stroops",
    "redis_eval_arguments",
    "redis_delivery_key",
    "redis_signature_key",
    "redis_verdict",
    "replay_retention_seconds",
    "WebhookVerificationError",
    "WebhookConfigurationError",
    "MissingHeaderError",
    "PayloadTooLargeError",
    "TimestampError",
    "SignatureVerificationError",
    "ReplayDetectedError",
    "ConsumerOverloadedError",
    "DeliveryInProgressError",
    "DecimalError",
    "SettingsError",
    "SettingsTypeError",
    "OK",
    "MISSING_SECRET",
    "MISSING_DELIVERY_ID",
    "MISSING_TIMESTAMP",
    "MISSING_SIGNATURE",
    "PAYLOAD_TOO_LARGE",
    "INVALID_TIMESTAMP",
    "TIMESTAMP_OUTSIDE_TOLERANCE",
    "PREVIOUS_SECRET_EXPIRED",
    "SIGNATURE_MISMATCH",
    "DUPLICATE_DELIVERY",
    "REPLAYED_SIGNATURE",
    "CONSUMER_OVERLOADED",
    "DELIVERY_IN_PROGRESS",
    "OUTCOME_CODES",
    "OUTCOME_STATUSES",
    "DECIMAL_EMPTY_VALUE",
    "DECIMAL_INVALID_TYPE",
    "DECIMAL_INVALID_FORMAT",
    "DECIMAL_OUT_OF_RANGE",
    "DECIMAL_PRECISION_EXCEEDED",
    "DECIMAL_CODES",
    "HEADER_DELIVERY_ID",
    "HEADER_TIMESTAMP",
    "HEADER_SIGNATURE",
    "HEADER_EVENT",
    "DEFAULT_TOLERANCE_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_GRACE_WINDOW_SECONDS",
    "DEFAULT_DELIVERY_RETENTION_SECONDS",
    "DEFAULT_RESERVATION_LEASE_SECONDS",
    "DEFAULT_REPLAY_CAPACITY",
    "REDIS_SCRIPT",
    "REDIS_DEFAULT_PREFIX",
]

_Body = Union[bytes, bytearray, memoryview]
_Secret = Union[str, bytes, None]
_HeaderValue = Union[str, bytes, None]
_Timestamp = Union[str, bytes, int, None]
_Whole = Optional[int]
_Now = Union[int, float, None]
_HeaderName = Union[str, bytes]
# A mapping (dict, Starlette / Werkzeug / Django headers) or (name, value) pairs. A list
# or tuple value is a repeated field.
_Headers = Union[Mapping[str, Any], Mapping[bytes, Any], Iterable[Tuple[_HeaderName, Any]]]

class _ReplayStoreProtocol(Protocol):
    def check_and_record(
        self,
        delivery_id: str,
        timestamp: int,
        signature: bytes,
        now: int,
        signature_expires_at: int,
    ) -> str: ...

class _RedisStoreProtocol(Protocol):
    """A Redis store: runs ``REDIS_SCRIPT`` with the verifier's keys and arguments."""

    @property
    def prefix(self) -> str: ...
    @property
    def delivery_retention_seconds(self) -> int: ...
    def run_script(self, keys: List[str], args: List[str]) -> int: ...

class _AsyncRedisStoreProtocol(Protocol):
    """An asyncio Redis store (``run_script`` is a coroutine function)."""

    @property
    def prefix(self) -> str: ...
    @property
    def delivery_retention_seconds(self) -> int: ...
    def run_script(self, keys: List[str], args: List[str]) -> Awaitable[int]: ...

OK: str
MISSING_SECRET: str
MISSING_DELIVERY_ID: str
MISSING_TIMESTAMP: str
MISSING_SIGNATURE: str
PAYLOAD_TOO_LARGE: str
INVALID_TIMESTAMP: str
TIMESTAMP_OUTSIDE_TOLERANCE: str
PREVIOUS_SECRET_EXPIRED: str
SIGNATURE_MISMATCH: str
DUPLICATE_DELIVERY: str
REPLAYED_SIGNATURE: str
CONSUMER_OVERLOADED: str
DELIVERY_IN_PROGRESS: str
OUTCOME_CODES: Tuple[str, ...]
OUTCOME_STATUSES: Dict[str, int]
DECIMAL_EMPTY_VALUE: str
DECIMAL_INVALID_TYPE: str
DECIMAL_INVALID_FORMAT: str
DECIMAL_OUT_OF_RANGE: str
DECIMAL_PRECISION_EXCEEDED: str
DECIMAL_CODES: Tuple[str, ...]
HEADER_DELIVERY_ID: str
HEADER_TIMESTAMP: str
HEADER_SIGNATURE: str
HEADER_EVENT: str
DEFAULT_TOLERANCE_SECONDS: int
DEFAULT_MAX_BODY_BYTES: int
DEFAULT_GRACE_WINDOW_SECONDS: int
DEFAULT_DELIVERY_RETENTION_SECONDS: int
DEFAULT_RESERVATION_LEASE_SECONDS: int
DEFAULT_REPLAY_CAPACITY: int
REDIS_SCRIPT: str
REDIS_DEFAULT_PREFIX: str

class WebhookVerificationError(Exception):
    """A delivery failed verification."""

    code: str
    status: int
    message: str
    verification: Verification

class WebhookConfigurationError(WebhookVerificationError): ...
class MissingHeaderError(WebhookVerificationError): ...
class PayloadTooLargeError(WebhookVerificationError): ...
class TimestampError(WebhookVerificationError): ...
class SignatureVerificationError(WebhookVerificationError): ...
class ReplayDetectedError(WebhookVerificationError): ...
class ConsumerOverloadedError(WebhookVerificationError): ...
class DeliveryInProgressError(WebhookVerificationError): ...

class SettingsError(ValueError):
    """A setting cannot be used (never shows the value)."""

    field: str
    problem: str
    message: str

class SettingsTypeError(SettingsError, TypeError):
    """A setting of the wrong type."""

class DecimalError(ValueError):
    """A value is not an acceptable decimal amount."""

    code: str
    field: Optional[str]
    message: str

@final
class Verification:
    """The result of verifying one delivery. Truthy only when ``ok``."""

    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def used_previous_secret(self) -> bool: ...
    @property
    def delivery_id(self) -> Optional[str]: ...
    @property
    def timestamp(self) -> Optional[int]: ...
    @property
    def event(self) -> Optional[str]:
        """The ``x-fluxora-event`` header as received. NOT signed."""
    def raise_for_status(self) -> Verification: ...
    def __bool__(self) -> bool: ...

@final
class MemoryReplayStore:
    """In-process replay store: bounded, TTL-aware, thread-safe."""

    def __new__(cls, capacity: _Whole = None, delivery_retention_seconds: _Whole = None) -> Self: ...
    @property
    def capacity(self) -> int: ...
    @property
    def delivery_retention_seconds(self) -> int: ...
    def live_entries(self, now: int) -> int: ...
    def clear(self) -> None: ...

@final
class NoReplayStore:
    """A replay store that remembers nothing."""

    def __new__(cls) -> Self: ...

_ReplayStore = Union[
    MemoryReplayStore, NoReplayStore, _RedisStoreProtocol, _AsyncRedisStoreProtocol, _ReplayStoreProtocol
]

@final
class Reservation:
    """The result of reserving one delivery (two-phase replay). Truthy only when ``ok``.

    ``commit()`` once the delivery was handled, ``release()`` when handling failed; a
    context manager (``with`` / ``async with``) commits on a normal exit and releases on
    an exception.
    """

    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def verification(self) -> Verification: ...
    @property
    def held(self) -> bool: ...
    def commit(self, *, now: _Now = None) -> bool: ...
    def release(self, *, now: _Now = None) -> bool: ...
    def settle(self, status: int, *, now: _Now = None) -> bool: ...
    def commit_async(self, *, now: _Now = None) -> Coroutine[Any, Any, bool]: ...
    def release_async(self, *, now: _Now = None) -> Coroutine[Any, Any, bool]: ...
    def settle_async(self, status: int, *, now: _Now = None) -> Coroutine[Any, Any, bool]: ...
    def __enter__(self) -> Reservation: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...
    def __aenter__(self) -> Coroutine[Any, Any, Reservation]: ...
    def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Coroutine[Any, Any, None]: ...
    def __bool__(self) -> bool: ...

@final
class Verifier:
    """A verifier prepared once and reused for every request; thread-safe."""

    def __new__(
        cls,
        secret: _Secret = None,
        *,
        previous_secret: _Secret = None,
        previous_secret_rotated_at: _Whole = None,
        grace_window_seconds: _Whole = None,
        tolerance_seconds: _Whole = None,
        max_body_bytes: _Whole = None,
        replay_store: Optional[_ReplayStore] = None,
        is_duplicate_delivery: Optional[Callable[[str], bool]] = None,
        reservation_lease_seconds: _Whole = None,
    ) -> Self: ...
    def verify(
        self,
        body: _Body,
        headers: Optional[_Headers] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: _Now = None,
    ) -> Verification: ...
    def verify_or_raise(
        self,
        body: _Body,
        headers: Optional[_Headers] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: _Now = None,
    ) -> Verification: ...
    def reserve(
        self,
        body: _Body,
        headers: Optional[_Headers] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: _Now = None,
    ) -> Reservation: ...
    def verify_async(
        self,
        body: _Body,
        headers: Optional[_Headers] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: _Now = None,
    ) -> Coroutine[Any, Any, Verification]: ...
    def reserve_async(
        self,
        body: _Body,
        headers: Optional[_Headers] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: _Now = None,
    ) -> Coroutine[Any, Any, Reservation]: ...
    @property
    def tolerance_seconds(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def grace_window_seconds(self) -> int: ...
    @property
    def reservation_lease_seconds(self) -> int: ...
    @property
    def replay_store(self) -> Optional[_ReplayStore]: ...

def verify(
    secret: _Secret,
    body: _Body,
    delivery_id: _HeaderValue = None,
    timestamp: _Timestamp = None,
    signature: _HeaderValue = None,
    now: _Now = None,
    tolerance_seconds: _Whole = None,
    max_body_bytes: _Whole = None,
    previous_secret: _Secret = None,
    previous_secret_rotated_at: _Whole = None,
    grace_window_seconds: _Whole = None,
    is_duplicate_delivery: Optional[Callable[[str], bool]] = None,
    *,
    headers: Optional[_Headers] = None,
) -> Verification: ...
def compute_signature(secret: Union[str, bytes], timestamp: Union[str, bytes, int], body: _Body) -> str: ...
def signed_headers(
    secret: Union[str, bytes],
    body: _Body,
    *,
    timestamp: Union[int, str, None] = None,
    delivery_id: Optional[str] = None,
    event: Optional[str] = None,
) -> Dict[str, str]: ...
def parse_decimal(value: object, field: Optional[str] = None) -> str: ...
def parse_amount(value: object, field: Optional[str] = None) -> str: ...
def to_stroops(value: object, field: Optional[str] = None) -> int: ...
def redis_eval_arguments(
    prefix: str,
    delivery_id: str,
    timestamp: int,
    signature: bytes,
    now: int,
    signature_expires_at: int,
    delivery_retention_seconds: int,
) -> Tuple[List[str], List[str]]: ...
def redis_delivery_key(prefix: str, delivery_id: str) -> str: ...
def redis_signature_key(prefix: str, timestamp: int, signature: bytes) -> str: ...
def redis_verdict(reply: int) -> str: ...
def replay_retention_seconds(value: _Whole = None) -> int: ...
