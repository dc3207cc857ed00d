"""Type stubs of the native module ``fluxora_webhooks._native`` (PyO3, Rust core)."""

from typing import Any, Callable, Dict, Mapping, Optional, Protocol, Tuple, Union, final

from typing_extensions import Self

__all__ = [
    "Verifier",
    "Verification",
    "MemoryReplayStore",
    "NoReplayStore",
    "verify",
    "compute_signature",
    "parse_decimal",
    "parse_amount",
    "to_stroops",
    "WebhookVerificationError",
    "WebhookConfigurationError",
    "MissingHeaderError",
    "PayloadTooLargeError",
    "TimestampError",
    "SignatureVerificationError",
    "ReplayDetectedError",
    "ConsumerOverloadedError",
    "DecimalError",
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
    "DEFAULT_REPLAY_CAPACITY",
]

_Body = Union[bytes, bytearray, memoryview]
_Secret = Union[str, bytes, None]
_HeaderValue = Union[str, bytes, None]
_Timestamp = Union[str, bytes, int, None]

class _ReplayStoreProtocol(Protocol):
    def check_and_record(
        self,
        delivery_id: str,
        timestamp: int,
        signature: bytes,
        now: int,
        signature_expires_at: int,
    ) -> str: ...

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
DEFAULT_REPLAY_CAPACITY: int

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

    def __new__(cls, capacity: int = 100000, delivery_retention_seconds: int = 86400) -> Self: ...
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

_ReplayStore = Union[MemoryReplayStore, NoReplayStore, _ReplayStoreProtocol]

@final
class Verifier:
    """A verifier prepared once and reused for every request; thread-safe."""

    def __new__(
        cls,
        secret: _Secret,
        *,
        previous_secret: _Secret = None,
        previous_secret_rotated_at: Optional[int] = None,
        grace_window_seconds: int = 86400,
        tolerance_seconds: int = 300,
        max_body_bytes: int = 262144,
        replay_store: Optional[_ReplayStore] = None,
        is_duplicate_delivery: Optional[Callable[[str], bool]] = None,
    ) -> Self: ...
    def verify(
        self,
        body: _Body,
        headers: Optional[Mapping[str, Any]] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: Optional[int] = None,
    ) -> Verification: ...
    def verify_or_raise(
        self,
        body: _Body,
        headers: Optional[Mapping[str, Any]] = None,
        *,
        delivery_id: _HeaderValue = None,
        timestamp: _Timestamp = None,
        signature: _HeaderValue = None,
        now: Optional[int] = None,
    ) -> Verification: ...
    @property
    def tolerance_seconds(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def grace_window_seconds(self) -> int: ...
    @property
    def replay_store(self) -> Optional[_ReplayStore]: ...

def verify(
    secret: _Secret,
    body: _Body,
    delivery_id: _HeaderValue = None,
    timestamp: _Timestamp = None,
    signature: _HeaderValue = None,
    now: Optional[int] = None,
    tolerance_seconds: int = 300,
    max_body_bytes: int = 262144,
    previous_secret: _Secret = None,
    previous_secret_rotated_at: Optional[int] = None,
    grace_window_seconds: int = 86400,
    is_duplicate_delivery: Optional[Callable[[str], bool]] = None,
    *,
    headers: Optional[Mapping[str, Any]] = None,
) -> Verification: ...
def compute_signature(secret: Union[str, bytes], timestamp: Union[str, bytes, int], body: _Body) -> str: ...
def parse_decimal(value: object, field: Optional[str] = None) -> str: ...
def parse_amount(value: object, field: Optional[str] = None) -> str: ...
def to_stroops(value: object, field: Optional[str] = None) -> int: ...
