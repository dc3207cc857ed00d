"""Schemathesis hooks for the Fluxora server's schema-driven test.

The document marks account ids with the format `stellar-account-id`: a pattern cannot carry
their CRC16-XModem checksum, so this strategy builds valid ones (an implementation written
here, independent of the server's Rust one) and generated requests reach past validation.
"""

import base64

import schemathesis
from hypothesis import strategies as st

ACCOUNT_ID_VERSION = 6 << 3


def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def account_id(key: bytes) -> str:
    payload = bytes([ACCOUNT_ID_VERSION]) + key
    checksum = crc16_xmodem(payload).to_bytes(2, "little")
    return base64.b32encode(payload + checksum).decode("ascii")


schemathesis.openapi.format(
    "stellar-account-id",
    st.binary(min_size=32, max_size=32).map(account_id),
)
