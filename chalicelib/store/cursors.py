"""Opaque pagination cursors.

A cursor is the position after the last item of a page, bound to the listing it came
from. Each store rebuilds `ExclusiveStartKey` from the position through
`chalicelib.store.keys`, so a forged cursor can only move within a listing the caller may
read anyway, and a garbled one is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, List, Optional

from chalicelib.core.errors import BadRequest


@dataclass(frozen=True)
class Listing:
    """One page of a listing, and the cursor of the next (None on the last page)."""

    items: List[Any]
    next_cursor: Optional[str]


def encode_cursor(listing: str, position: str) -> str:
    raw = json.dumps({"l": listing, "p": position}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, listing: str) -> str:
    """The position a cursor names, when it belongs to `listing`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not valid: pass nextCursor exactly as it was received") from exc
    if not isinstance(payload, dict) or payload.get("l") != listing or not isinstance(payload.get("p"), str):
        raise BadRequest("cursor does not belong to this listing")
    return str(payload["p"])
