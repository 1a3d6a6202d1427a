"""Opaque pagination cursors.

A cursor is the position after the last item of a page, bound to the listing it came
from. Each store rebuilds `ExclusiveStartKey` from the position through
`chalicelib.store.keys`, so a forged cursor can only move within a listing the caller may
read anyway; a garbled one, or one whose position is not a valid one for its listing (a
key the table would refuse), is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from chalicelib.core import BadRequest

# Longer than any cursor the service writes (a listing of a site's page, and a page).
MAX_CURSOR_CHARS = 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Listing:
    """One page of a listing, and the cursor of the next (None on the last page)."""

    items: List[Any]
    next_cursor: Optional[str]


def encode_cursor(listing: str, position: str) -> str:
    raw = json.dumps({"l": listing, "p": position}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, listing: str, is_position: Callable[[str], bool]) -> str:
    """The position a cursor names, when it belongs to `listing` and is a position of it
    (`is_position`): a forged one never reaches the table as an invalid key."""
    if len(cursor) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
        raise BadRequest("cursor is not valid: pass nextCursor exactly as it was received")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        from chalicelib.core import jsontext  # loaded by the first request with a cursor

        payload = jsontext.loads(raw, max_depth=1).value
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("cursor is not valid: pass nextCursor exactly as it was received") from exc
    if not isinstance(payload, dict) or payload.get("l") != listing or not isinstance(payload.get("p"), str):
        raise BadRequest("cursor does not belong to this listing")
    position = str(payload["p"])
    if not is_position(position):
        raise BadRequest("cursor does not belong to this listing")
    return position
