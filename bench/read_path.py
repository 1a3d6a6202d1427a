"""The read benchmark: the public page route against a bare route in the same server.

`make bench-read` (`python -m bench.read_path`) starts the local stack, puts a site and
a page config in through the API, then sends a fixed number of requests per route from
concurrent client threads, each over its own keep-alive connection to 127.0.0.1, and
prints requests per second, p50 and p99 latency, and the bytes of each answer on the
wire (status line, headers and body, as read from the socket). The figures, with the
machine and the date, replace the "Read path" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bench.report import DOCUMENT, machine, replace_section
from infra.resources import PROJECT_DIR
from tests.stack import Http, LocalStack, running_stack

DESCRIPTION = "The public page route against a bare route, through the local stack."
SECTION = "Read path"
SITE, PAGE = "bench", "home"
PAGE_ROUTE = "/sites/{site}/pages/{page}"
ORIGIN = "https://bench.example"
# A config the size of the example seed's store home page.
SETTINGS = {"hero": {"title": "Summer sale", "image": "/img/summer.jpg"}, "productsPerRow": 4}


class RawHttp:
    """HTTP/1.1 GETs to 127.0.0.1, counting every byte of each answer. With `keep_alive`
    one connection carries every request; without, each request opens its own and asks
    the server to close it after the answer."""

    def __init__(self, port: int, keep_alive: bool) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self.sock: Optional[socket.socket] = None
        self.pending = b""

    def get(self, path: str, headers: Dict[str, str]) -> Tuple[int, bytes, bytes]:
        """One GET: the status, the head (status line and headers) and the body."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.pending = b""
        sent = headers if self.keep_alive else {**headers, "Connection": "close"}
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", *(f"{k}: {v}" for k, v in sent.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = self._read_until(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        fields = parse_head(head)
        length = 0 if status in (204, 304) else int(fields.get("content-length", "0"))
        body = self._read_exactly(length)
        if not self.keep_alive or fields.get("connection", "").lower() == "close":
            self.close()
        return status, head, body

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.pending:
            self._receive()
        head, _, self.pending = self.pending.partition(marker)
        return head + marker

    def _read_exactly(self, length: int) -> bytes:
        while len(self.pending) < length:
            self._receive()
        body, self.pending = self.pending[:length], self.pending[length:]
        return body

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-answer")
        self.pending += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def parse_head(head: bytes) -> Dict[str, str]:
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


@dataclass(frozen=True)
class Load:
    requests: int  # measured, per route
    concurrency: int  # client threads
    warmup: int  # unmeasured requests per route first
    keep_alive: bool
    rounds: int  # every route in turn, this many times; `requests` is split over them


@dataclass(frozen=True)
class Scenario:
    label: str
    route: str  # as the API logs it
    path: str
    headers: Dict[str, str]
    status: int


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    requests: int
    seconds: float
    latencies: List[float]  # seconds, sorted
    wire_bytes: int
    handler_ms: List[float] = field(default_factory=list)  # the API's own `durationMs`, sorted

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values: the smallest value with at least
    `fraction` of all values at or below it."""
    if not ordered:
        raise ValueError("no values")
    rank = math.ceil(Fraction(str(fraction)) * len(ordered))  # exact: 0.99 * 100 is 99, not 99.00000000000001
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def measure(port: int, scenario: Scenario, load: Load) -> Result:
    """`load.requests` GETs split over `load.concurrency` threads, each with its own
    client, after `load.warmup` unmeasured ones; every answer must have the expected status."""
    requests, concurrency = load.requests, load.concurrency
    clients = [RawHttp(port, load.keep_alive) for _ in range(concurrency)]
    try:
        for index in range(load.warmup):
            clients[index % concurrency].get(scenario.path, scenario.headers)
        status, head, body = clients[0].get(scenario.path, scenario.headers)
        if status != scenario.status:
            raise SystemExit(f"{scenario.label}: expected {scenario.status}, got {status}: {body[:200]!r}")
        shares = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]
        latencies: List[List[float]] = [[] for _ in clients]
        errors: List[str] = []
        start = threading.Barrier(concurrency + 1)

        def run(index: int) -> None:
            client, own = clients[index], latencies[index]
            start.wait()
            for _ in range(shares[index]):
                began = time.perf_counter()
                got, _, _ = client.get(scenario.path, scenario.headers)
                own.append(time.perf_counter() - began)
                if got != scenario.status:
                    errors.append(f"{scenario.label}: {got}")
                    return

        threads = [threading.Thread(target=run, args=(index,)) for index in range(concurrency)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        if errors:
            raise SystemExit(f"unexpected answers: {errors[:5]}")
    finally:
        for client in clients:
            client.close()
    ordered = sorted(latency for own in latencies for latency in own)
    return Result(scenario, len(ordered), seconds, ordered, len(head) + len(body))


def benchmark(stack: LocalStack, chosen: Sequence[Scenario], load: Load) -> List[Result]:
    """Every scenario in turn, round after round, so that whatever else the machine is
    doing weighs on all of them alike; the rounds of a scenario are merged."""
    merged: List[Optional[Result]] = [None] * len(chosen)
    for round_ in range(load.rounds):
        this_round = replace(load, requests=load.requests // load.rounds, warmup=load.warmup if round_ == 0 else 0)
        for index, scenario in enumerate(chosen):
            print(f"round {round_ + 1}/{load.rounds}: {scenario.label}", file=sys.stderr)
            logged = len(stack.output())
            result = measure(stack.port, scenario, this_round)
            result = replace(result, handler_ms=handler_durations(stack.output()[logged:], scenario))
            earlier = merged[index]
            merged[index] = result if earlier is None else merge(earlier, result)
    return [result for result in merged if result is not None]


def merge(first: Result, second: Result) -> Result:
    return replace(
        first,
        requests=first.requests + second.requests,
        seconds=first.seconds + second.seconds,
        latencies=sorted(first.latencies + second.latencies),
        handler_ms=sorted(first.handler_ms + second.handler_ms),
    )


def seed(stack: LocalStack, token: str) -> str:
    """A site and a page config, through the API; returns the config's current ETag."""
    http = Http(stack, token)
    http.applied("PUT", f"/sites/{SITE}", {"name": "Bench", "allowedOrigins": [ORIGIN], "cacheMaxAge": 60})
    body = {"site": SITE, "page": PAGE, "layout": "hero-grid", "theme": "light", "settings": SETTINGS}
    http.applied("POST", "/metadata", body)
    answer = http.request("GET", f"/sites/{SITE}/pages/{PAGE}", token=None)
    return str(answer.headers["ETag"])


def scenarios(etag: str) -> List[Scenario]:
    page = f"/sites/{SITE}/pages/{PAGE}"
    return [
        Scenario("`GET /health` (bare route, the baseline)", "/health", "/health", {}, 200),
        Scenario(f"`GET {page}`", PAGE_ROUTE, page, {"Origin": ORIGIN}, 200),
        Scenario(
            f"`GET {page}`, current `If-None-Match`", PAGE_ROUTE, page, {"Origin": ORIGIN, "If-None-Match": etag}, 304
        ),
    ]


def handler_durations(log: str, scenario: Scenario) -> List[float]:
    """The API's own timing of each request of this route and status, from its JSON log."""
    durations = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "request" and (entry.get("route"), entry.get("status")) == (
            scenario.route,
            scenario.status,
        ):
            durations.append(float(entry["durationMs"]))
    return sorted(durations)


def table(results: Sequence[Result]) -> str:
    rows = [
        "| route | answer | req/s | p50 ms | p99 ms | p50 ms in the API | bytes on the wire |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        handled = f"{percentile(result.handler_ms, 0.5):.2f}" if result.handler_ms else "n/a"
        rows.append(
            f"| {result.scenario.label} | {result.scenario.status} | {result.per_second:,.0f} "
            f"| {result.percentile(0.5) * 1000:.2f} | {result.percentile(0.99) * 1000:.2f} | {handled} "
            f"| {result.wire_bytes} |"
        )
    return "\n".join(rows)


def ratios(results: Sequence[Result]) -> str:
    baseline, *reads = results
    parts = [
        f"{read.scenario.status}: {read.per_second / baseline.per_second:.2f}x the baseline's req/s, "
        f"p50 {read.percentile(0.5) / baseline.percentile(0.5):.1f}x its p50"
        for read in reads
    ]
    return "Read path / baseline — " + "; ".join(parts) + "."


def section(results: Sequence[Result], load: Load, host: str) -> str:
    connections = (
        "each on one keep-alive connection (`--keep-alive`)"
        if load.keep_alive
        else "each request on a new connection (`Connection: close`)"
    )
    paragraphs = [
        f"`make bench-read`, {host}.",
        "The local stack: Chalice's local server (one process, a thread per connection) with "
        "DynamoDB emulated by moto's server (another process, over HTTP). "
        f"{load.requests:,} requests per route after {load.warmup:,} unmeasured ones, in "
        f"{load.rounds} rounds that take the routes in turn, from {load.concurrency} client "
        f"threads on the same machine, {connections}. The page "
        "requests carry an allowed `Origin`, as a browser's do. Latency is the client's, "
        'connection included; "in the API" is the API\'s own `durationMs` log of the same '
        "requests (from the app's middleware in to out). Bytes on the wire: status line, "
        "headers and body of one answer, as read from the socket.",
        table(results),
        ratios(results),
        "This is the cost of the route's own work (one `BatchGetItem` of site and config from "
        "moto, the CORS and ETag decisions, the JSON) against what every route of the same "
        "server pays. A `304` saves the body, not the read: the ETag is checked against the item "
        "read. In AWS the read is a DynamoDB call inside the region and the bare route pays API "
        "Gateway and Lambda too, so the absolute figures say little about production; the ratio "
        "is the one to watch when the read path changes. A CDN in front (the answer is "
        "`Cache-Control: public, max-age=<cacheMaxAge>`) serves repeats without reaching the "
        "function at all.",
        "Chalice's local server writes an answer's headers and body in two writes; the local "
        "stack sets `TCP_NODELAY` on its connections, so keep-alive clients (`--keep-alive`) "
        "no longer wait for a delayed ACK (about 40 ms) on every answer with a body.",
    ]
    filled = [p if p.startswith("|") else textwrap.fill(p, width=88) for p in paragraphs]
    return f"## {SECTION}\n\n" + "\n\n".join(filled) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.read_path", description=DESCRIPTION)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per route (default 3000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="routes in turn, this many times (default 3)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per route first (default 200)")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="one connection per client thread (Chalice's local server then adds ~40 ms to answers with a body)",
    )
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {DOCUMENT.name} as it is")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--concurrency and --rounds must be at least 1, --warmup at least 0")
    if args.requests < args.concurrency * args.rounds:
        parser.error("--requests must be at least --concurrency x --rounds")
    load = Load(args.requests, args.concurrency, args.warmup, args.keep_alive, args.rounds)

    token = f"bench-{uuid.uuid4().hex[:12]}"
    host = machine()  # before the stack adds its own load
    with tempfile.TemporaryDirectory(prefix="bench-read-") as folder:
        print("starting the local stack…", file=sys.stderr)
        with running_stack(Path(folder), token) as stack:
            results = benchmark(stack, scenarios(seed(stack, token)), load)
    text = section(results, load, host)
    print(text)
    if not args.no_write:
        replace_section(SECTION, text)
        print(f"written to {DOCUMENT.relative_to(PROJECT_DIR)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
