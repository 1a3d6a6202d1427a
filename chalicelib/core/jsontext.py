"""JSON text from clients, parsed without surprises: UTF-8 only, nesting bounded before any
parser recurses, and what would be stored as something else than what was sent (numbers
a double cannot hold, a name given twice in one object) marked, not changed.

Python's `json` recurses once per nesting level and fails only near the interpreter's
recursion limit; a RecursionError there (or in anything that walks the result) is a 500.
So the depth is measured on the raw text first, without recursion: brackets outside
strings, as a running sum. Text nested deeper than `MAX_DEPTH` is never handed to the
parser.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any, Dict, List, Optional, Set, Tuple, Union

# Deeper than any body the API accepts (a body, its settings and 16 levels below), and far
# below what the parser or any recursive walk could not handle.
MAX_DEPTH = 64
# Longer integers are refused: Python converts at most 4300 digits to and from text
# (sys.int_info.default_max_str_digits), and pydantic's JSON parser, which reads the
# queued operation in the worker, fewer.
MAX_INTEGER_DIGITS = 4000

# A JSON string (the escapes are checked by the parser, not here). One that never closes
# runs to the end of the text: the scan stays linear however many quotes follow.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_STRINGS = re.compile(_STRING, re.DOTALL)
_TOKENS = re.compile(_STRING + rb"|[\[\]{}:,]", re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# '[' and '{' step one level in (1), ']' and '}' one level out (-1 as a signed byte).
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NONZERO_DIGIT = re.compile(r"[1-9]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

Path = Tuple[Union[str, int], ...]


class NotUtf8(ValueError):
    """The text is not UTF-8 (RFC 8259 requires it on the wire)."""


class TooDeep(ValueError):
    """The text nests deeper than allowed; `member` is the top-level object member where
    it first does (None when it is not inside one)."""

    def __init__(self, depth: int, member: Optional[str]) -> None:
        super().__init__(f"JSON nested more than {depth} levels deep")
        self.member = member


class Unrepresentable:
    """A number the parser met that would not be stored as it was sent: kept in the parsed
    value in its place, so that the caller can say where it is."""

    __slots__ = ("literal", "reason")

    def __init__(self, literal: str, reason: str) -> None:
        self.literal = literal
        self.reason = reason


def nesting_depth(text: bytes) -> int:
    """How many containers deep the text nests, as a parser would recurse into it: the
    highest running count of brackets outside strings. No recursion, and each step runs in C."""
    brackets = _STRINGS.sub(b"", text).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(accumulate(array("b", brackets.translate(_STEPS)))))


def deep_member(text: bytes, limit: int) -> Optional[str]:
    """The name of the top-level object member inside which nesting first passes `limit`,
    or None when that happens outside any member (the text is an array, say)."""
    depth = 0
    member: Optional[str] = None
    last_string: Optional[bytes] = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token.startswith(b'"'):
            last_string = token
            continue
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return member
        elif token in (b"]", b"}"):
            depth -= 1
        elif token == b":" and depth == 1 and last_string is not None:
            member = _member_name(last_string)
        elif token == b"," and depth == 1:
            member = None
        last_string = None
    return None


def _member_name(token: bytes) -> Optional[str]:
    try:
        name = json.loads(token.decode("utf-8"))
    except ValueError:
        return None
    return name if isinstance(name, str) else None


class LoneSurrogate(ValueError):
    """A string escapes half of a surrogate pair (`"\\ud800"`): it parses, but is not
    Unicode and cannot be encoded as UTF-8 again."""


@dataclass(frozen=True)
class Change:
    """A place where the parsed value is not what was sent: a number a double cannot hold,
    an integer too long, a name given twice in one object (the parser keeps the last)."""

    path: Path
    kind: str
    message: str


@dataclass(frozen=True)
class Parsed:
    """A JSON value, and the places where it differs from what was sent, in document order
    (the value holds `Unrepresentable` there, or the last of a repeated name)."""

    value: Any
    changes: List[Change]


def loads(text: bytes, max_depth: int = MAX_DEPTH) -> Parsed:
    """The JSON value of UTF-8 text. Raises NotUtf8, TooDeep, LoneSurrogate, or ValueError
    for anything else that is not JSON (NaN and Infinity included)."""
    if text.startswith(_BYTE_ORDER_MARKS) or b"\x00" in text:
        raise NotUtf8("JSON is UTF-8 (RFC 8259), without a byte order mark; this looks like UTF-16 or UTF-32")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8(f"JSON is UTF-8 (RFC 8259); byte {exc.start} is not valid UTF-8") from exc
    if nesting_depth(text) > max_depth:
        raise TooDeep(max_depth, deep_member(text, max_depth))
    hooks = _Hooks()
    value = json.loads(
        decoded,
        parse_constant=_no_constant,
        parse_float=hooks.parse_float,
        parse_int=hooks.parse_int,
        object_pairs_hook=hooks.object_pairs,
    )
    # Only text that escapes a surrogate can hold a lone one; only then is the value walked.
    might_be_lone = _SURROGATE_ESCAPE.search(decoded) is not None
    if not (hooks.found or might_be_lone):
        return Parsed(value, [])
    changes, lone_surrogate = _inspect(value)
    if lone_surrogate:
        raise LoneSurrogate("the body has a string that is not valid Unicode (a lone surrogate)")
    return Parsed(value, changes)


class _RepeatedNames(Dict[str, Any]):
    """An object in which some names were given more than once."""

    def __init__(self, pairs: List[Tuple[str, Any]], repeated: List[str]) -> None:
        super().__init__(pairs)
        self.repeated = repeated


class _Hooks:
    """The parser's hooks: each number and object is kept as it was sent, or marked."""

    def __init__(self) -> None:
        self.found = False

    def parse_float(self, literal: str) -> Union[float, Unrepresentable]:
        value = float(literal)
        if math.isinf(value):
            return self._mark(literal, "the number is out of range: numbers are doubles, at most about 1.8e308")
        if value == 0.0 and _NONZERO_DIGIT.search(literal.lower().partition("e")[0]):
            return self._mark(literal, "the number is too small: as a double it would be 0")
        if Decimal(literal) != Decimal(repr(value)):
            # Stored, it would read back as another number (0.1000000000000000000001 as 0.1).
            return self._mark(
                literal, f"the number has more digits than a double holds: it would be stored as {value!r}"
            )
        return value

    def parse_int(self, literal: str) -> Union[int, Unrepresentable]:
        if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
            return self._mark(literal, f"integers have at most {MAX_INTEGER_DIGITS} digits")
        return int(literal)

    def object_pairs(self, pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        self.found = True
        seen: Set[str] = set()
        repeated: Dict[str, None] = {}
        for name, _ in pairs:
            if name in seen:
                repeated[name] = None
            seen.add(name)
        return _RepeatedNames(pairs, list(repeated))

    def _mark(self, literal: str, reason: str) -> Unrepresentable:
        self.found = True
        return Unrepresentable(literal, reason)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _inspect(value: Any) -> Tuple[List[Change], bool]:
    """Where `value` differs from what was sent (in document order), and whether any
    string or name in it is not valid Unicode. Walks without recursion."""
    changes: List[Change] = []
    lone_surrogate = False
    stack: List[Tuple[Path, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            lone_surrogate = lone_surrogate or any(_SURROGATE.search(key) for key in node)
            for name in getattr(node, "repeated", ()):
                message = "the name is given more than once in this object; give it once"
                changes.append(Change((*path, name), "duplicate_name", message))
            stack.extend(reversed([((*path, key), child) for key, child in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, index), child) for index, child in enumerate(node)]))
        elif isinstance(node, str):
            lone_surrogate = lone_surrogate or _SURROGATE.search(node) is not None
        elif isinstance(node, Unrepresentable):
            changes.append(Change(path, "number_unrepresentable", node.reason))
    return changes, lone_surrogate
