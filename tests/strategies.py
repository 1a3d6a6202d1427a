"""Hypothesis strategies shared by the fuzz tests: JSON as the raw text a client sends
(or a queue message holds), and how a careful reader reads it back.

A `Doc` is JSON text built from what parsers trip on: nesting up to the body limit
(objects, arrays and both mixed), objects and arrays thousands of members wide, numbers
a double cannot hold (1e400, -1e400, 1e-400, integers of 400 and more digits, fractions
of 20 digits) and -0.0, repeated keys, escaped lone surrogates. It knows how deep it is
nested, counted as the service counts `settings`, and which of those oddities it holds,
so a test knows what a server may refuse and what it must take.

What a reader must get out of any text is `exact_json(text)`: numbers as exact decimals,
the last of repeated keys (as `JSON.parse` in a browser), and `difference` names the
first place where two such values differ.

Requests are made of documents: a `Body` (the route's fields, plain or bent, or raw
text such as an empty or blank body), a `Wire` (UTF-8, UTF-16 or UTF-32 with or without a
BOM, invalid UTF-8; Content-Types of JSON in any case, with charsets, and others, or
none) and an Idempotency-Key (valid at the edges, or not). `FOCI` names what a fuzzed
request stresses, keeping the rest plain so a failure names its cause.

`in_lambda` runs a request or the worker as Lambda would: in a fresh thread, with the
default recursion limit.

The text is built with string operations, not drawn character by character, so a
256 KiB document costs a few draws; its `repr` is short, so a falsifying example prints
in a few lines.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    ParamSpec,
    Sequence,
    Tuple,
    TypeVar,
)

from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from chalicelib.core.limits import MAX_BODY_BYTES, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH

# The oddities a document can hold: a server may refuse each (with a 4xx), or keep it
# exactly, but never answer 5xx or store something else.
NOT_A_DOUBLE = "a number no double holds exactly"
REPEATED_KEY = "a repeated key"
LONE_SURROGATE = "an escaped lone surrogate"
NOT_JSON = "text that is not JSON"

P = ParamSpec("P")
T = TypeVar("T")


def short_repr(factory: Callable[P, st.SearchStrategy[T]]) -> Callable[P, st.SearchStrategy[T]]:
    """The strategy `factory` builds, with its name for a repr: nested composites would
    otherwise repr as tens of kilobytes (and hypothesis warns about it)."""

    @functools.wraps(factory)
    def named(*args: P.args, **kwargs: P.kwargs) -> st.SearchStrategy[T]:
        def build() -> st.SearchStrategy[T]:
            return factory(*args, **kwargs)

        build.__name__ = factory.__name__
        return st.deferred(build)

    return named


# --- documents ---------------------------------------------------------------------------


def _short(text: str, keep: int = 160) -> str:
    """At most about `keep` characters of `text`: its head and tail, and how much is left out."""
    if len(text) <= keep:
        return text
    head, tail = keep * 2 // 3, keep // 4
    return f"{text[:head]}...<{len(text) - head - tail} chars>...{text[-tail:]}"


@dataclass(frozen=True)
class Doc:
    """JSON text, its nesting depth (a scalar is 0, `{}` and `[]` are 1) and its oddities."""

    text: str
    depth: int = 0
    oddities: FrozenSet[str] = frozenset()
    how: str = field(default="", compare=False)

    def __repr__(self) -> str:
        odd = f", oddities={sorted(self.oddities)}" if self.oddities else ""
        how = f"{self.how}: " if self.how else ""
        return f"Doc({how}{_short(self.text)!r}, depth={self.depth}, {len(self.text)} chars{odd})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # how hypothesis prints examples: short, as repr

    @property
    def within_limits(self) -> bool:
        """Within the documented limits of `settings`: 16 levels, 100 KiB (with a margin)."""
        return self.depth <= MAX_SETTINGS_DEPTH and compact_size(self.text) <= MAX_SETTINGS_BYTES * 9 // 10

    @property
    def plain(self) -> bool:
        """Nothing odd, and within the limits: a server takes it where JSON is asked for."""
        return not self.oddities and self.within_limits


def compact_size(text: str) -> int:
    """The size of a (plain) document as compact UTF-8 JSON, as the limit is documented."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return len(text.encode("utf-8", "surrogatepass"))
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _join(parts: Sequence[Doc], text: str, container: bool) -> Doc:
    depth = (1 + max((part.depth for part in parts), default=0)) if container else 0
    oddities: FrozenSet[str] = frozenset().union(*(part.oddities for part in parts))
    return Doc(text, depth, oddities)


# Numbers: the JSON grammar with bounded lengths, doubles as Python writes them, and the
# edges: out of range both ways, more digits than a double has, the sign of zero.
JSON_NUMBER = r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?"
EDGE_NUMBERS = [
    "1e400",
    "-1e400",
    "1e-400",
    "-1e-400",
    "1E400",
    "1e+400",
    "0e400",
    "-0",
    "-0.0",
    "0.0",
    "1e308",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "5e-324",
    "2e-324",
    "9007199254740993",
    "-9007199254740993",
    "0.1000000000000000000001",
    "123456789012345678901234567890.5",
    "1" * 400,
    "-" + "9" * 400,
    "1" + "0" * 400,
    # Python reads integers of at most 4300 digits (sys.int_info.default_max_str_digits).
    "9" * 4300,
    "-" + "9" * 4300,
    "9" * 4301,
    "-" + "9" * 4301,
]


def _edge_number(index: int) -> str:
    return EDGE_NUMBERS[index]  # drawn by index, so the strategy's repr is short


def fits_double(text: str) -> bool:
    """Whether a double holds this JSON number: finite, and written back the same value."""
    value = float(text)
    return math.isfinite(value) and Decimal(repr(value)) == Decimal(text)


def number_doc(text: str) -> Doc:
    return Doc(text, 0, frozenset() if fits_double(text) else frozenset({NOT_A_DOUBLE}))


def _big_integer(parts: Tuple[str, int, str]) -> str:
    sign, digits, pattern = parts
    body = (pattern * (digits // len(pattern) + 1))[: digits - 1]
    return f"{sign}7{body}"


@short_repr
def numbers() -> st.SearchStrategy[Doc]:
    big = st.tuples(
        st.sampled_from(["", "-"]),
        # Digits: past a double's 15 to 17, past its range (309), 400, and around the 4300
        # Python's int() takes.
        st.sampled_from([17, 20, 309, 400, 4299, 4300, 4301, 5000]),
        st.text("0123456789", min_size=1, max_size=3),
    ).map(_big_integer)
    return st.one_of(
        st.integers(-(2**53), 2**53).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.integers(0, len(EDGE_NUMBERS) - 1).map(_edge_number),
        st.from_regex(JSON_NUMBER, fullmatch=True),
        big,
    ).map(number_doc)


# Strings: anything JSON-escaped or not, valid escaped pairs, and lone surrogates.
ESCAPED_STRINGS = [r'"\ud83d\ude00"', r'"\u00e9\u0000\/"', r'"\b\f\n\r\t\"\\"', '"\u2028\u2029"', '"\ufeff"']
LONE_SURROGATES = [r'"\ud800"', r'"x\udfff"', r'"\ud83d"', r'"\ude00\ud83d"', r'"\uDBFF\uDBFF"']


# Strings JSON does not allow: raw control characters, bad escapes.
NOT_JSON_STRINGS = ['"\x01"', '"a\nb"', '"\t"', '"\x7f\x00"', r'"\x41"', r'"\u12"', r'"\ud800\u"']


def written_strings(max_size: int = 12) -> st.SearchStrategy[Doc]:
    """Any text, JSON-escaped to ASCII or written as it is."""
    return st.tuples(st.text(max_size=max_size), st.booleans()).map(
        lambda pair: Doc(json.dumps(pair[0], ensure_ascii=pair[1]))
    )


@short_repr
def strings(max_size: int = 12) -> st.SearchStrategy[Doc]:
    return st.one_of(
        written_strings(max_size),
        st.sampled_from(ESCAPED_STRINGS).map(Doc),
        st.sampled_from(LONE_SURROGATES).map(lambda text: Doc(text, 0, frozenset({LONE_SURROGATE}))),
        st.sampled_from(NOT_JSON_STRINGS).map(lambda text: Doc(text, 0, frozenset({NOT_JSON}))),
    )


# Long strings, to the limits of settings and of the body, in characters of 1 to 4 bytes,
# written as they are or escaped (6 or 12 characters for what is stored as 2 to 4 bytes).
LONG_CHARACTERS = ["x", "é", "日", "\U0001f600", "\\u00e9", "\\ud83d\\ude00"]


@st.composite
def long_strings(draw: st.DrawFn) -> Doc:
    character = draw(st.sampled_from(LONG_CHARACTERS))
    stored = len(json.loads(f'"{character}"').encode("utf-8"))
    near = MAX_SETTINGS_BYTES // stored
    count = draw(
        st.integers(-16, 16).map(lambda offset: max(0, near - 8 + offset))
        | st.integers(0, MAX_BODY_BYTES // len(character))
    )
    return Doc(f'"{character * count}"', 0, frozenset(), f"{count} x {character!r}")


LITERALS = st.sampled_from(["true", "false", "null"]).map(Doc)
SPACES = st.sampled_from(["", " ", "\n", "\t", "\r\n  "])


@st.composite
def arrays(draw: st.DrawFn, items: st.SearchStrategy[Doc]) -> Doc:
    members = draw(st.lists(items, max_size=5))
    space = draw(SPACES)
    return _join(members, "[" + space + f",{space}".join(member.text for member in members) + space + "]", True)


@st.composite
def objects(draw: st.DrawFn, values: st.SearchStrategy[Doc], repeats: bool = True, min_repeats: int = 0) -> Doc:
    """An object; with `repeats`, sometimes with keys repeated (the same text, or the same
    string written another way, such as "e" and "\\u0065")."""
    keys = strings(8) if repeats else written_strings(8)
    members = draw(
        st.lists(st.tuples(keys, values), min_size=min_repeats and 1, max_size=5, unique_by=lambda m: _key(m[0]))
    )
    if members and repeats:
        indexes = st.integers(0, len(members) - 1)
        for index in draw(st.lists(indexes, min_size=min_repeats, max_size=max(2, min_repeats))):
            key = members[index][0]
            if draw(st.booleans()) and NOT_JSON not in key.oddities:
                key = Doc(json.dumps(json.loads(key.text), ensure_ascii=True), 0, key.oddities)
            members.append((key, draw(values)))
    space = draw(SPACES)
    text = "{" + f",{space}".join(f"{key.text}{space}:{space}{value.text}" for key, value in members) + "}"
    doc = _join([value for _, value in members] + [key for key, _ in members], text, True)
    names = [_key(key) for key, _ in members]
    if len(set(names)) < len(names):
        doc = Doc(doc.text, doc.depth, doc.oddities | {REPEATED_KEY})
    return doc


def _key(key: Doc) -> str:
    try:
        return str(json.loads(key.text))
    except ValueError:
        return key.text  # not JSON: never the same key as another


@short_repr
def trees(max_leaves: int = 12) -> st.SearchStrategy[Doc]:
    """Small JSON values of every kind, nested a few levels."""
    leaves = st.one_of(LITERALS, numbers(), strings())
    return st.recursive(leaves, lambda inner: arrays(inner) | objects(inner), max_leaves=max_leaves)


# Nesting and width, up to the body limit.
_OPEN = {"o": '{"a":', "a": "[", "e": '{"":'}
_CLOSE = {"o": "}", "a": "]", "e": "}"}


def nest(core: Doc, levels: int, pattern: str) -> Doc:
    """`core` inside `levels` objects and arrays, their kinds cycling through `pattern`
    ("o" an object under "a", "e" an object under "", "a" an array)."""
    whole, rest = divmod(levels, len(pattern))
    opens = "".join(_OPEN[kind] for kind in pattern) * whole + "".join(_OPEN[kind] for kind in pattern[:rest])
    closes = (
        "".join(_CLOSE[kind] for kind in reversed(pattern[:rest]))
        + "".join(_CLOSE[kind] for kind in reversed(pattern)) * whole
    )
    how = f"{levels} levels of {pattern!r} around {_short(core.text, 40)!r}"
    return Doc(opens + core.text + closes, core.depth + levels, core.oddities, how)


# Depths on the way to Python's recursion limit (1000) and past it.
ROUND_DEPTHS = [100, 200, 300, 400, 500, 600, 700, 800, 900, 999, 1000, 1001, 2000, 5000]


@st.composite
def deep(draw: st.DrawFn, cores: st.SearchStrategy[Doc], budget: int = MAX_BODY_BYTES) -> Doc:
    """Nesting of any depth that fits `budget` bytes: mostly near the limits that matter
    (16, the hundreds where recursion runs out, the parser's own limit near 1000), and
    anything up to the whole budget."""
    pattern = draw(st.sampled_from(["o", "a", "oa", "ao", "e"]) | st.text("oae", min_size=1, max_size=5))
    core = draw(cores)
    per_level = sum(len(_OPEN[kind]) + len(_CLOSE[kind]) for kind in pattern) / len(pattern)
    limit = max(0, int((budget - len(core.text)) // per_level))
    levels = draw(
        st.one_of(
            st.integers(0, 40),  # around the documented 16
            st.integers(250, 1100),  # where recursion runs out: Python's limit is 1000
            st.integers(0, limit),  # anything to the body limit
            st.sampled_from([limit, limit + 8]),  # at the body limit, and just past it
            st.sampled_from(ROUND_DEPTHS),
        )
    )
    return nest(core, levels, pattern)


def widen(element: Doc, count: int, kind: str) -> Doc:
    if kind == "array":
        text = "[" + ",".join([element.text] * count) + "]"
    else:
        text = "{" + ",".join(f'"k{index}":{element.text}' for index in range(count)) + "}"
    doc = _join([element] if count else [], text, True)
    return Doc(doc.text, doc.depth, doc.oddities, f"{kind} of {count} x {_short(element.text, 40)!r}")


@st.composite
def wide(
    draw: st.DrawFn,
    elements: st.SearchStrategy[Doc],
    budget: int = MAX_BODY_BYTES,
    kinds: Tuple[str, ...] = ("array", "object"),
) -> Doc:
    """An array or object of up to `budget` bytes of one element repeated."""
    element = draw(elements)
    kind = draw(st.sampled_from(kinds))
    per = len(element.text) + 1 + (9 if kind == "object" else 0)
    limit = max(0, budget // per)
    count = draw(st.one_of(st.integers(0, 50), st.integers(0, limit), st.just(limit)))
    return widen(element, count, kind)


def in_object(doc: Doc) -> Doc:
    return Doc('{"x":' + doc.text + "}", doc.depth + 1, doc.oddities, f"{{'x': {doc.how}}}" if doc.how else "")


@short_repr
def documents(budget: int = MAX_BODY_BYTES - 512) -> st.SearchStrategy[Doc]:
    """Any JSON value up to `budget` bytes: small ones of every kind, deep, wide, deep
    inside wide and wide inside deep."""
    small = trees()
    return st.one_of(
        small,
        deep(small, budget),
        wide(small, budget),
        deep(wide(small, budget // 4), budget),
        wide(deep(small, budget // 64), budget),
    )


@short_repr
def settings_docs(budget: int = MAX_BODY_BYTES - 512) -> st.SearchStrategy[Doc]:
    """`settings` as clients send them: mostly objects (plain or not), sometimes anything."""
    return st.one_of(
        objects(trees(8)),
        documents(budget).map(in_object),
        documents(budget),
    )


@short_repr
def plain_trees(max_leaves: int = 8) -> st.SearchStrategy[Doc]:
    """Small JSON values with nothing odd in them: numbers a double holds, valid strings."""
    leaves = st.one_of(
        LITERALS,
        st.integers(-(2**53), 2**53).map(lambda number: Doc(str(number))),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda number: Doc(repr(number))),
        st.tuples(st.text(max_size=12), st.booleans()).map(lambda pair: Doc(json.dumps(pair[0], ensure_ascii=pair[1]))),
        st.sampled_from(ESCAPED_STRINGS).map(Doc),
    )
    return st.recursive(
        leaves, lambda inner: arrays(inner) | objects(inner, repeats=False), max_leaves=max_leaves
    ).filter(lambda doc: doc.plain)


@short_repr
def plain_settings() -> st.SearchStrategy[Doc]:
    """Settings every server must take: small objects with nothing odd in them."""
    return objects(plain_trees(), repeats=False).filter(lambda doc: doc.plain)


# --- reading back ----------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def exact_json(text: Any, strict: bool = True) -> Any:
    """JSON as a careful reader has it: every number an exact Decimal, the last of
    repeated keys, and NaN/Infinity refused. Raises ValueError for text that is not JSON
    (not `strict`: control characters in strings are read as themselves)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant, strict=strict)


def _brief(value: Any) -> str:
    return _short(repr(value), 80)


def difference(sent: Any, stored: Any, where: str = "$") -> Optional[str]:
    """Where two values read by `exact_json` differ (numbers by value: 1.0 is 1), or None."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return f"{where}: sent {_brief(sent)}, got {_brief(stored)}"
        if sent.keys() != stored.keys():
            return f"{where}: sent keys {_brief(sorted(sent))}, got keys {_brief(sorted(stored))}"
        return _first(difference(sent[key], stored[key], f"{where}.{key}") for key in sent)
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(sent) != len(stored):
            return f"{where}: sent {_brief(sent)}, got {_brief(stored)}"
        return _first(
            difference(a, b, f"{where}[{index}]") for index, (a, b) in enumerate(zip(sent, stored, strict=True))
        )
    if isinstance(sent, Decimal):
        same = isinstance(stored, Decimal) and _equal_numbers(sent, stored)
    else:
        same = type(sent) is type(stored) and sent == stored
    return None if same else f"{where}: sent {_brief(sent)}, got {_brief(stored)}"


def _equal_numbers(a: Decimal, b: Decimal) -> bool:
    try:
        return a == b
    except InvalidOperation:
        return False


def _first(found: Iterable[Optional[str]]) -> Optional[str]:
    return next((item for item in found if item is not None), None)


# --- requests ----------------------------------------------------------------------------

# Content types: what clients send for JSON, in any case and with a charset, and what
# they send by mistake.
PLAIN_CONTENT_TYPES = [
    "application/json",
    "APPLICATION/JSON",
    "Application/Json",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
]
CHARSET_CONTENT_TYPES = [
    "application/json; charset=utf-16",
    "application/json; charset=UTF-16LE",
    "application/json; charset=utf-32",
    "application/json; charset=latin-1",
]
ODD_CONTENT_TYPES = [
    None,
    "",
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "application/merge-patch+json",
    "multipart/form-data; boundary=x",
    "*/*",
    "application/json, text/plain",
]
# Python codecs: BOMs come with "utf-8-sig", "utf-16" and "utf-32"; none with -le/-be.
ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"]


@dataclass(frozen=True)
class Wire:
    """How a body travels: its encoding (or UTF-8 with bad bytes in it) and Content-Type."""

    encoding: str = "utf-8"
    content_type: Optional[str] = "application/json"
    bad_bytes: bytes = b""
    bad_at: float = 0.0  # where the bad bytes go, as a fraction of the body

    def encode(self, text: str) -> bytes:
        raw = text.encode(self.encoding)
        if self.bad_bytes:
            at = int(len(raw) * self.bad_at)
            raw = raw[:at] + self.bad_bytes + raw[at:]
        return raw

    @property
    def plain(self) -> bool:
        """UTF-8 declared as JSON: what every client sends, and every server takes."""
        return self.encoding == "utf-8" and not self.bad_bytes and self.content_type in PLAIN_CONTENT_TYPES

    @property
    def invalid(self) -> bool:
        """Bytes that are no Unicode text at all: refused whatever they hold."""
        return bool(self.bad_bytes)

    def headers(self) -> Dict[str, str]:
        return {} if self.content_type is None else {"Content-Type": self.content_type}


PLAIN_WIRES = st.builds(Wire, content_type=st.sampled_from(PLAIN_CONTENT_TYPES))


@short_repr
def encoded_wires() -> st.SearchStrategy[Wire]:
    """UTF-8 with or without a BOM, UTF-16 and UTF-32 with and without, and invalid UTF-8,
    declared as JSON, with or without a charset."""
    json_types = st.sampled_from(PLAIN_CONTENT_TYPES + CHARSET_CONTENT_TYPES + [None])
    return st.one_of(
        st.builds(Wire, encoding=st.sampled_from(ENCODINGS), content_type=json_types),
        st.builds(Wire, content_type=json_types, bad_bytes=st.sampled_from(INVALID_UTF8), bad_at=st.floats(0, 1)),
    )


@short_repr
def typed_wires() -> st.SearchStrategy[Wire]:
    """UTF-8 under every Content-Type: JSON's, other charsets', others', none."""
    return st.builds(
        Wire, content_type=st.sampled_from(PLAIN_CONTENT_TYPES + CHARSET_CONTENT_TYPES + ODD_CONTENT_TYPES)
    )


@short_repr
def wires() -> st.SearchStrategy[Wire]:
    return st.one_of(PLAIN_WIRES, encoded_wires(), typed_wires())


# Idempotency-Key values: what the contract takes (1 to 255 printable characters) and
# what it refuses, both at the edges.
ODD_KEYS = [
    " ",
    "  key  ",
    "é",
    "日本語-ключ",
    "\U0001f600",
    "a" * 255,
    "0",
    "null",
    '"quoted"',
    "key,with,commas",
    "x" * 254 + "é",
]
REFUSED_KEYS = ["", "a" * 256, "tab\tkey", "line\nkey", "nul\x00key", "\u2028", "\x7f", "zero\u200bwidth"]


def key_is_valid(key: str) -> bool:
    """The contract's rule for Idempotency-Key (README, "Idempotency")."""
    return 1 <= len(key) <= 255 and key.isprintable()


@short_repr
def idempotency_keys() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_KEYS),
        st.sampled_from(REFUSED_KEYS),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
        st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=250, max_size=260),
    )


def valid_idempotency_keys() -> st.SearchStrategy[str]:
    return idempotency_keys().filter(key_is_valid)


# --- request bodies ----------------------------------------------------------------------

PAGE = Doc('"<page>"', how="the page of the example")  # replaced by a fresh slug when sent


@dataclass(frozen=True)
class Body:
    """A request body as members (a name's JSON text and its value), or as raw text.

    `bent` says its fields are not the route's (one left out, added, or of another kind);
    `plain` that every server takes it: the route's fields, valid, each once, with plain
    settings (an object)."""

    members: Tuple[Tuple[str, Doc], ...] = ()
    raw: Optional[str] = None
    space: str = ""
    bent: bool = False

    def text(self, page: str) -> str:
        if self.raw is not None:
            return self.raw
        parts = []
        for name, value in self.members:
            written = json.dumps(page) if value is PAGE else value.text
            parts.append(f"{name}{self.space}:{self.space}{written}")
        return "{" + self.space + f",{self.space}".join(parts) + self.space + "}"

    def __repr__(self) -> str:
        if self.raw is not None:
            return f"Body(raw={_short(self.raw)!r})"
        members = ", ".join(f"{name}: {value!r}" for name, value in self.members)
        bent = ", bent" if self.bent else ""
        return f"Body({{{members}}}, space={self.space!r}{bent})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def oddities(self) -> FrozenSet[str]:
        found: FrozenSet[str] = frozenset().union(*(value.oddities for _, value in self.members))
        names = [json.loads(name) for name, _ in self.members]
        return found | ({REPEATED_KEY} if len(set(names)) < len(names) else frozenset())

    def settings(self) -> Optional[Doc]:
        """The last `settings` member (what a reader keeps), if any."""
        found = [value for name, value in self.members if json.loads(name) == "settings"]
        return found[-1] if found else None

    @property
    def plain(self) -> bool:
        settings = self.settings()
        return (
            self.raw is None
            and not self.bent
            and not self.oddities
            and all(value.plain for _, value in self.members if value is not PAGE)
            and (settings is None or settings.text.startswith("{"))
        )

    def odd_only_in(self, oddity: str) -> Optional[str]:
        """The one member holding `oddity`, when it is the only oddity of a body otherwise
        plain (within the limits, its fields the route's): what a refusal must name."""
        if self.raw is not None or self.bent or self.oddities != {oddity}:
            return None
        holders = [json.loads(name) for name, value in self.members if oddity in value.oddities]
        if len(holders) != 1 or not all(value.within_limits for _, value in self.members if value is not PAGE):
            return None
        return str(holders[0])


FieldSpec = Tuple[str, st.SearchStrategy[Doc]]
TEMPLATE_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True)


def _string_doc(values: st.SearchStrategy[str]) -> st.SearchStrategy[Doc]:
    return values.map(lambda value: Doc(json.dumps(value)))


CONFIG_FIELDS: List[FieldSpec] = [
    ("layout", _string_doc(TEMPLATE_NAMES)),
    ("theme", _string_doc(TEMPLATE_NAMES)),
]
CREATE_FIELDS: List[FieldSpec] = [("site", st.just(Doc('"shop"'))), ("page", st.just(PAGE)), *CONFIG_FIELDS]
SITE_FIELDS: List[FieldSpec] = [
    ("name", _string_doc(st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=20))),
    ("allowedOrigins", st.just(Doc('["https://shop.example", "http://localhost:3000"]', 1))),
    ("cacheMaxAge", st.integers(0, 31_536_000).map(lambda number: Doc(str(number)))),
]
# Each route's fields, and whether it takes settings (any JSON object).
ROUTE_FIELDS: Dict[str, Tuple[List[FieldSpec], bool]] = {
    "POST /metadata": (CREATE_FIELDS, True),
    "PUT /metadata/{id}": (CONFIG_FIELDS, True),
    "PUT /sites/{site}": (SITE_FIELDS, False),
}


@st.composite
def bodies_with(draw: st.DrawFn, route: str, docs: st.SearchStrategy[Doc], repeat: bool = False) -> Body:
    """The route's fields, valid, with one of `docs` as settings (or, on a route without
    settings, in place of one field); with `repeat`, one field given again."""
    fields, with_settings = ROUTE_FIELDS[route]
    members = [(json.dumps(name), draw(values)) for name, values in fields]
    bent = not with_settings
    if with_settings:
        members.append(('"settings"', draw(docs)))
    else:
        index = draw(st.integers(0, len(members) - 1))
        members[index] = (members[index][0], draw(docs))
    if repeat:
        name, _ = members[draw(st.integers(0, len(members) - 1))]
        again = dict(fields).get(json.loads(name), docs)
        members.append((name, draw(again)))
    order = draw(st.permutations(range(len(members))))
    return Body(tuple(members[index] for index in order), space=draw(SPACES), bent=bent)


@st.composite
def plain_bodies(draw: st.DrawFn, route: str) -> Body:
    """A body every server takes (settings are optional)."""
    fields, with_settings = ROUTE_FIELDS[route]
    members = [(json.dumps(name), draw(values)) for name, values in fields]
    if with_settings and draw(st.booleans()):
        members.append(('"settings"', draw(plain_settings())))
    return Body(tuple(members), space=draw(SPACES))


@st.composite
def any_bodies(draw: st.DrawFn, route: str) -> Body:
    """A body of any kind: plain; with settings (or a field) of any kind; bent (a field
    left out, repeated, of another type, or unknown); or not an object of fields at all."""
    kind = draw(st.sampled_from(["plain", "odd", "bent", "raw"]))
    if kind == "raw":
        return Body(raw=draw(raw_bodies()))
    if kind == "plain":
        return draw(plain_bodies(route))
    body = draw(bodies_with(route, settings_docs()))
    if kind == "odd":
        return body
    return Body(tuple(_bend(draw, list(body.members))), space=body.space, bent=True)


def _bend(draw: st.DrawFn, members: List[Tuple[str, Doc]]) -> List[Tuple[str, Doc]]:
    bent = list(members)
    for change in draw(st.lists(st.sampled_from(["drop", "repeat", "replace", "unknown"]), min_size=1, max_size=3)):
        if not bent:
            break
        index = draw(st.integers(0, len(bent) - 1))
        name, _ = bent[index]
        if change == "drop":
            del bent[index]
        elif change == "repeat":
            bent.append((name, draw(trees(4))))
        elif change == "replace":
            bent[index] = (name, draw(trees(4)))
        else:
            bent.append((draw(written_strings(8)).text, draw(trees(4))))
    return bent


BLANK_BODIES = ["", " ", "\r\n\t ", "\n"]


@short_repr
def raw_bodies() -> st.SearchStrategy[str]:
    """Bodies that are not an object of fields: empty, blank, scalars, nested alone,
    broken JSON, JSON's cousins (NaN, comments, single quotes), two values."""
    return st.one_of(
        st.sampled_from([*BLANK_BODIES, "null", "{}", "[]", "0", '""', "true", "\ufeff{}"]),
        st.sampled_from(["{", '{"a":1,}', "{'a': 1}", '{"a": NaN}', '{"a": Infinity}', "{} {}", '{"a":1}//']),
        st.sampled_from(['{"a": 01}', '{"a": 1.}', '{"a": .5}', '{"a": +1}', '{"a": 0x10}', '{"a": "\x01"}']),
        documents().map(lambda doc: doc.text),
        st.tuples(trees(), st.floats(0, 1)).map(lambda pair: pair[0].text[: int(len(pair[0].text) * pair[1])]),
        st.text(max_size=40),
    )


# --- what each fuzzed request stresses ---------------------------------------------------------


@short_repr
def nested_settings() -> st.SearchStrategy[Doc]:
    """Objects nested to the body limit: objects, arrays and both mixed inside."""
    core = plain_trees(4)
    return deep(core).map(lambda doc: doc if doc.text.startswith("{") else in_object(doc))


@short_repr
def wide_settings() -> st.SearchStrategy[Doc]:
    """Thousands of members, long strings, width inside nesting and nesting inside width."""
    core = plain_trees(4)
    budget = MAX_BODY_BYTES - 512
    return st.one_of(
        wide(core, budget, kinds=("object",)),
        wide(core, budget).map(in_object),
        long_strings().map(in_object),
        wide(deep(core, budget // 64), budget, kinds=("object",)),
        deep(wide(core, budget // 4), budget).map(in_object),
        wide(long_strings(), budget, kinds=("object",)),
    )


@short_repr
def number_settings() -> st.SearchStrategy[Doc]:
    """Objects of numbers of every kind: doubles, and what no double holds."""
    values = st.recursive(numbers(), lambda inner: arrays(inner) | objects(inner, repeats=False), max_leaves=6)
    return objects(values, repeats=False)


@short_repr
def repeated_key_settings() -> st.SearchStrategy[Doc]:
    """Objects with a key given twice or more, at any level."""
    values = st.recursive(plain_trees(2), lambda inner: arrays(inner) | objects(inner, min_repeats=1), max_leaves=4)
    return objects(values, min_repeats=1)


@short_repr
def string_settings() -> st.SearchStrategy[Doc]:
    """Objects of strings: any text, escapes, lone surrogates, what JSON does not allow."""
    return objects(st.one_of(strings(), written_strings(40)), repeats=False)


SETTINGS_ROUTES = ("POST /metadata", "PUT /metadata/{id}")


@dataclass(frozen=True)
class Focus:
    """What a fuzzed request stresses: its body, how the body travels, its Idempotency-Key,
    and the routes it goes to (those with settings, for what stresses settings)."""

    bodies: Callable[[str], st.SearchStrategy[Body]]
    wires: Callable[[], st.SearchStrategy[Wire]] = lambda: PLAIN_WIRES
    keys: Callable[[], st.SearchStrategy[Optional[str]]] = lambda: st.none() | valid_idempotency_keys()
    routes: Tuple[str, ...] = SETTINGS_ROUTES


def _keys_and_strings_bodies(route: str) -> st.SearchStrategy[Body]:
    """Settings with keys given twice (and a field given twice), or strings of any kind."""
    return bodies_with(route, repeated_key_settings(), repeat=True) | bodies_with(route, string_settings())


def _wire_bodies(route: str) -> st.SearchStrategy[Body]:
    """Plain bodies (with text beyond ASCII where the route takes settings), or blank ones."""
    blank = st.sampled_from(BLANK_BODIES).map(lambda raw: Body(raw=raw))
    if route not in SETTINGS_ROUTES:
        return plain_bodies(route) | blank
    return st.one_of(bodies_with(route, objects(written_strings(20), repeats=False)), plain_bodies(route), blank)


FOCI: Dict[str, Focus] = {
    "nesting": Focus(lambda route: bodies_with(route, nested_settings())),
    "width": Focus(lambda route: bodies_with(route, wide_settings())),
    "numbers": Focus(lambda route: bodies_with(route, number_settings())),
    "keys and strings": Focus(_keys_and_strings_bodies),
    "encodings and headers": Focus(
        _wire_bodies,
        lambda: encoded_wires() | typed_wires(),
        lambda: st.none() | idempotency_keys(),
        tuple(ROUTE_FIELDS),
    ),
    "anything": Focus(any_bodies, wires, lambda: st.none() | idempotency_keys(), tuple(ROUTE_FIELDS)),
}


# --- hypothesis settings of the fuzz tests ----------------------------------------------

# Documents are large by design, and the fixtures hold a stack across examples.
FUZZ_HEALTH_CHECKS = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]
# No explain phase: it would send each failing example again hundreds of times (minutes).
FUZZ_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


# --- running the service as Lambda does ---------------------------------------------------

# Lambda's Python keeps the interpreter's default recursion limit, and runs the handler
# near the bottom of its stack. Under pytest and hypothesis the limit is 2000 higher and
# the stack some 200 frames deep, and both vary from call to call: what recursion costs
# the service would be hidden, or turn flaky.
LAMBDA_RECURSION_LIMIT = 1000


def in_lambda(call: Callable[[], T]) -> T:
    """`call()` (a request, an invocation of the worker) in a fresh thread, with Lambda's
    recursion limit: the same stack, whatever the test's own depth."""
    results: List[T] = []
    errors: List[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(LAMBDA_RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=run, name="lambda")
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if errors:
        raise errors[0]
    return results[0]
