"""Identifiers: config ids, operation ids, and digests of secrets and requests.

An operation id carries the time it was accepted and a check, so `GET /operations/{id}`
can answer "pending" for a real id whose operation the worker has not recorded yet
(the API writes nothing to the table) and 404 for a mistyped or expired one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from typing import Any, Callable, Optional

ID_PATTERN = r"^[a-z2-7]{26}$"
RELEASE_ID_PATTERN = r"^[0-9a-v]{26}$"


class _Base32:
    """16 bytes spelled as 26 lower-case characters of one base32 alphabet. (A plain
    class: a dataclass costs a cold start most of a millisecond to define.)"""

    def __init__(
        self, pattern: re.Pattern[str], encoder: Callable[[bytes], bytes], decoder: Callable[[str], bytes]
    ) -> None:
        self.pattern = pattern
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, raw: bytes) -> str:
        return self.encoder(raw).decode("ascii").rstrip("=").lower()

    def decode(self, text: str) -> Optional[bytes]:
        """The 16 bytes `text` spells, or None. 26 characters carry 130 bits, so the last one
        has two spare bits: only the spelling the service writes (spare bits zero) is an id,
        the three others decode to the same bytes but name nothing."""
        if not self.pattern.fullmatch(text):
            return None
        try:
            raw = self.decoder(text.upper() + "======")
        except ValueError:
            return None
        return raw if self.encode(raw) == text else None


_BASE32 = _Base32(re.compile(ID_PATTERN), base64.b32encode, base64.b32decode)
# base32hex (0-9, a-v): its alphabet sorts as ASCII does.
_BASE32HEX = _Base32(re.compile(RELEASE_ID_PATTERN), base64.b32hexencode, base64.b32hexdecode)


def _millis(now: datetime) -> bytes:
    return int(now.timestamp() * 1000).to_bytes(6, "big")


def new_config_id(now: datetime, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """26 characters that begin with the creation time. (Base32's alphabet puts its digits
    after its letters, so as strings these ids do not sort by time: see `new_release_id`.)"""
    return _BASE32.encode(_millis(now) + random_bytes(10))


def is_config_id(text: str) -> bool:
    return _BASE32.decode(text) is not None


def _check(body: bytes) -> bytes:
    return hashlib.sha256(b"operation:" + body).digest()[:2]


def new_operation_id(now: datetime, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    body = _millis(now) + random_bytes(8)
    return _BASE32.encode(body + _check(body))


def operation_accepted_at(operation_id: str) -> Optional[datetime]:
    """When the API accepted this operation, or None when the id is not one it made."""
    raw = _BASE32.decode(operation_id)
    if raw is None or _check(raw[:14]) != raw[14:]:
        return None
    return datetime.fromtimestamp(int.from_bytes(raw[:6], "big") / 1000, tz=UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def idempotency_hash(actor: str, key: str) -> str:
    """Idempotency keys belong to the token that sent them."""
    return hashlib.sha256(f"{actor}\n{key}".encode()).hexdigest()


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def new_release_id(now: datetime, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """26 characters of base32hex, whose alphabet sorts as ASCII: as strings, release ids
    sort by creation time, so a site's releases are listed newest first."""
    return _BASE32HEX.encode(_millis(now) + random_bytes(10))


def is_release_id(text: str) -> bool:
    return _BASE32HEX.decode(text) is not None
