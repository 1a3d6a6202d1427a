"""Where a request's body ends, read as RFC 9112 (section 6) has it, for the local server.

Chalice's local server reads `int(Content-Length)` bytes and nothing else: a length that
is not a number kills the connection without an answer, a huge one is handed to
`read()`, a negative one or a chunked body leaves the body on the connection to be read
as the next request. Here the framing is checked first and a request whose framing is
broken is refused with the contract's status and code (400 BadRequest, or 413
PayloadTooLarge past API Gateway's 10 MB quota), so the connection can be answered and
closed instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO, List, Optional

from infra.gateway_responses import gateway_error

# API Gateway's payload quota: a larger request is refused before any function runs
# (the REQUEST_TOO_LARGE gateway response), so its body need not be read at all.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# A chunk-size line, extensions included, and the trailer section after the last chunk.
MAX_CHUNK_LINE = 4096
MAX_TRAILER_LINES = 100

_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_BAD_REQUEST = gateway_error("DEFAULT_4XX").code
_TOO_LARGE = gateway_error("REQUEST_TOO_LARGE")


class FramingError(Exception):
    """The request's body cannot be told apart from what follows it: answer and close."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_framing(message: str) -> FramingError:
    return FramingError(400, _BAD_REQUEST, message)


def too_large(message: str) -> FramingError:
    return FramingError(_TOO_LARGE.status or 413, _TOO_LARGE.code, message)


@dataclass(frozen=True)
class Framing:
    # The body's declared length, or None for a chunked body.
    length: Optional[int]

    def describe(self) -> str:
        return "its last chunk" if self.length is None else f"the {self.length} bytes its Content-Length declares"


def _items(values: Optional[List[str]]) -> List[str]:
    """A header's comma-separated items, over every line it was sent on."""
    return [item.strip(" \t") for value in values or [] for item in str(value).split(",")]


def request_framing(headers: Message, request_version: str) -> Framing:
    """How the body of a request with these headers is delimited; FramingError when it cannot be."""
    codings = _items(headers.get_all("Transfer-Encoding"))
    lengths = _items(headers.get_all("Content-Length"))
    if codings:
        if lengths:
            raise bad_framing("send the body with either Content-Length or Transfer-Encoding, not both")
        if [coding.lower() for coding in codings] != ["chunked"] or request_version == "HTTP/1.0":
            sent = ", ".join(codings)
            raise bad_framing(f"Transfer-Encoding {sent!r} is not supported: send 'chunked' alone, over HTTP/1.1")
        return Framing(None)
    if not lengths:
        return Framing(0)
    for value in lengths:
        if not _DIGITS.fullmatch(value):
            raise bad_framing(f"Content-Length must be a whole number of bytes, not {_shown(value)!r}")
    # Compared as text: int() refuses more than 4300 digits.
    distinct = {value.lstrip("0") or "0" for value in lengths}
    if len(distinct) > 1:
        raise bad_framing(f"the request has Content-Lengths that disagree: {', '.join(map(_shown, lengths[:4]))}")
    (length,) = distinct
    if len(length) > len(str(MAX_REQUEST_BYTES)) or int(length) > MAX_REQUEST_BYTES:
        raise too_large(f"the body is declared as {_shown(length)} bytes; at most {MAX_REQUEST_BYTES} are accepted")
    return Framing(int(length))


def _shown(value: str) -> str:
    """A header value, cut short enough to quote in a message."""
    return value if len(value) <= 24 else value[:24] + "..."


def read_body(rfile: BinaryIO, framing: Framing) -> Optional[bytes]:
    """The body, read off the connection (None for none, as Chalice has it)."""
    if framing.length is None:
        return _read_chunks(rfile, framing)
    if framing.length == 0:
        return None
    body = rfile.read(framing.length)
    if len(body) < framing.length:
        raise _ended(len(body), framing)
    return body


def _ended(received: int, framing: Framing) -> FramingError:
    return bad_framing(f"the connection ended after {received} bytes of the body, before {framing.describe()}")


def _read_chunks(rfile: BinaryIO, framing: Framing) -> bytes:
    body = bytearray()
    while True:
        size = _chunk_size(_line(rfile, len(body), framing))
        if size == 0:
            break
        if len(body) + size > MAX_REQUEST_BYTES:
            raise too_large(f"the chunks add up to more than the {MAX_REQUEST_BYTES} bytes accepted")
        data = rfile.read(size)
        if len(data) < size:
            raise _ended(len(body) + len(data), framing)
        body += data
        if _line(rfile, len(body), framing) not in (b"\r\n", b"\n"):
            raise bad_framing(f"a chunk of {size} bytes is not followed by CRLF: it is longer than its size says")
    for _ in range(MAX_TRAILER_LINES):
        if _line(rfile, len(body), framing) in (b"\r\n", b"\n"):
            return bytes(body)
    raise bad_framing(f"the chunked body has more than {MAX_TRAILER_LINES} trailer lines")


def _line(rfile: BinaryIO, received: int, framing: Framing) -> bytes:
    line = rfile.readline(MAX_CHUNK_LINE + 1)
    if len(line) > MAX_CHUNK_LINE:
        raise bad_framing(f"a line of the chunked body is longer than {MAX_CHUNK_LINE} bytes")
    if not line.endswith(b"\n"):
        raise _ended(received, framing)
    return line


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip(b" \t\r\n")
    if not _HEX.fullmatch(text):
        raise bad_framing(f"a chunk's size must be hexadecimal digits, not {_shown(text.decode('latin-1'))!r}")
    digits = text.lstrip(b"0") or b"0"
    if len(digits) > len(f"{MAX_REQUEST_BYTES:x}"):
        raise too_large(f"a chunk is larger than the {MAX_REQUEST_BYTES} bytes accepted")
    return int(digits, 16)
