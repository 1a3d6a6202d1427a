"""`make bench` (`python -m bench`): cold start, AWS calls per request type, the Lambda
package's size, the console's first load and the burst benchmark, printed as one table; each part's figures, with
the machine and the date, replace its own section of docs/benchmarks.md.
`make bench-burst` (`python -m bench --only burst`) runs the burst alone."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Sequence, Tuple

from bench import burst, calls, coldstart, connections, console_size, package_size
from bench.report import machine, replace_section, table
from devstack.supervisor import LISTEN_BACKLOG

Row = Tuple[str, str, str, str]


def cold_start_part(runs: int) -> Tuple[List[Row], str]:
    result = coldstart.measure(runs)
    target = coldstart.TARGET_RATIO
    verdict = "ok" if result.ratio <= target else "ABOVE TARGET"

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    rows: List[Row] = [
        (
            "cold start",
            "import app (median)",
            ms(result.app.import_seconds),
            f"process {ms(result.app.process_seconds)}",
        ),
        (
            "cold start",
            "import baseline app (median)",
            ms(result.baseline.import_seconds),
            f"process {ms(result.baseline.process_seconds)}",
        ),
        ("cold start", "ratio, import alone", f"{result.ratio:.2f}x", f"target <= {target}x: {verdict}"),
        ("cold start", "ratio, whole process", f"{result.process_ratio:.2f}x", ""),
        (
            "cold start",
            "ratio, import alone, strict baseline",
            f"{result.strict_ratio:.2f}x",
            f"baseline without the libraries app loads on first use; process {result.strict_process_ratio:.2f}x",
        ),
    ]
    heaviest = ", ".join(f"`{name}` {ms:.1f} ms" for name, ms in result.heaviest)
    lazy = [name for name in result.baseline.imports if name not in result.strict.imports]
    listed = ", ".join(f"`{coldstart.IMPORTS[name][1]}`" for name in result.baseline.imports)
    text = f"""## Cold start

`make bench`, {machine()}.

What Lambda pays at init: a fresh interpreter importing the handler's module, `app` (the
stage `dev`'s environment, no AWS call), against a baseline: a Chalice app with one route
that imports the same run-time libraries and nothing else ({listed}: boto3, which the
Lambda runtime has, and every library of `requirements.txt`, all installed). {result.runs}
runs of each, in alternation, after one unmeasured run each; the import alone is timed
(the interpreter's start is the same for both), and the whole process apart. Both are
copied with their bytecode compiled beforehand, as `make package` ships the code
(without it, Lambda compiles every module from source at each cold start).

The baseline imports libraries that `import app` does not ({", ".join(f"`{name}`" for name in lazy) or "none"}:
loaded on the first write or editor's read that needs them), so its time includes theirs;
the strict baseline imports only what `import app` loads itself, so that the figure
cannot flatter us.

{
        table(
            ["module", "import, median", "whole process, median", "ratio, import", "ratio, process"],
            [
                ["`app`", ms(result.app.import_seconds), ms(result.app.process_seconds), "", ""],
                [
                    "baseline",
                    ms(result.baseline.import_seconds),
                    ms(result.baseline.process_seconds),
                    f"{result.ratio:.2f}x",
                    f"{result.process_ratio:.2f}x",
                ],
                [
                    "strict baseline",
                    ms(result.strict.import_seconds),
                    ms(result.strict.process_seconds),
                    f"{result.strict_ratio:.2f}x",
                    f"{result.strict_process_ratio:.2f}x",
                ],
            ],
            "lrrrr",
        )
    }

Ratio (import alone, against the baseline) {result.ratio:.2f}x against a target of at most {target}x:
**{verdict}**. The project's own modules that take longest (`-X importtime`, self
time): {heaviest}. Importing `app` builds no pydantic model and no AWS client: the models
of the stored items and bodies, the stores, the write machinery, the editors' reads,
the backup check, the redrive and `/openapi.json` load on first use
(`tests/test_cold_start.py` holds the import to it). The first request of a function
loads what it needs: for a page view, the stage's settings, the stores and the models
of the read path.
"""
    return rows, text


def calls_part() -> Tuple[List[Row], str]:
    everything = calls.measure()
    measured = everything.calls
    rows: List[Row] = []
    lines: List[List[str]] = []
    for found in measured:
        over = found.over_floor
        verdict = f"ABOVE FLOOR: {over}" if over else "at floor"
        rows.append(("AWS calls", found.request, calls.summary(found), verdict))
        authorizer = ", ".join(call.split(":")[1] for call in found.authorizer) or "none"
        lines.append([f"`{found.request}`", found.kind, calls.summary(found), authorizer, verdict])
    above = [found.request for found in measured if found.over_floor]
    text = f"""## AWS calls

`make bench`, {machine()}.

Every AWS call each request type makes, counted through botocore's `before-call` hook on
the functions' own sessions and attributed to the function that made it: the API and the
worker run as in the tests (`chalice.test.Client`, moto), with `QUEUE_URL` set as a
deployed stage has it. A worker operation is one message applied; the deletion of the
messages of a batch (`DeleteMessageBatch`, by the event source or the worker) is not
counted. The authorizer's calls are apart: API Gateway caches its answer for 60 seconds.

Floors: a public read, one read call (the page route, drafts or not; a site's manifest
and bundle, one `Query` per MB of its pages' items); two for a config by id (its item
names its page) and for a preview (the token, then the page); a write
request, one `SendMessage` and at most one read (a `BatchGetItem` counts as one), two for
a write that must read a config before it knows its page or site, and for a release
(its site, then every config and version it names); a worker operation, at most one
read and one transaction, two reads for publishing or reverting a release (it, then its
pages and versions: still one transaction).

{table(["request", "kind", "calls", "authorizer", "against the floor"], lines)}

{"Above the floor: " + ", ".join(above) + "." if above else "Every request type is at its floor."}

{site_text(everything.site)}"""
    rows += site_rows(everything.site)
    return rows, text


def site_rows(answers: List[calls.Answer]) -> List[Row]:
    return [
        (
            f"site of {calls.SITE_PAGES} pages",
            answer.request,
            f"{answer.total_bytes:,} bytes",
            f"{answer.requests} request(s), {calls.summary_of(answer.calls)}",
        )
        for answer in answers
    ]


def site_text(answers: List[calls.Answer]) -> str:
    lines = [
        [
            answer.request,
            f"{answer.requests}",
            f"{answer.header_bytes:,}",
            f"{answer.body_bytes:,}",
            f"{answer.total_bytes:,}",
            calls.summary_of(answer.calls),
        ]
        for answer in answers
    ]
    headers = ["to have every page", "requests", "header bytes", "body bytes", "total bytes", "table calls"]
    return f"""### A site of {calls.SITE_PAGES} pages

What a build or a server-side renderer pays to have every page of a site of
{calls.SITE_PAGES} published pages (each with settings of {len(json.dumps(calls.SITE_SETTINGS))} bytes as JSON, like the
example seed's), as in the table above (`chalice.test.Client`, moto), with an allowed
`Origin`. Bytes are of the answers: status line and headers as an HTTP/1.1 server writes
them (without its `Date` and `Server`), and body; no compression.

{table(headers, lines, "lrrrrl")}
"""


def package_part() -> Tuple[List[Row], str]:
    size = package_size.measure()
    verdict = "ok" if size.zipped <= package_size.LIMIT_ZIPPED else "ABOVE LIMIT"
    mib = 1024 * 1024
    limit = f"{package_size.LIMIT_ZIPPED // mib} MiB"
    rows: List[Row] = [
        ("package", "deployment.zip, zipped", f"{size.zipped / mib:.2f} MiB", f"limit {limit}: {verdict}"),
        ("package", "deployment.zip, unzipped", f"{size.unzipped / mib:.2f} MiB", f"{size.files} files"),
    ]
    largest = ", ".join(f"`{name}` {count / mib:.2f} MiB" for name, count in size.largest)
    text = f"""## Package size

`make bench`, {machine()}.

The Lambda deployment package of stage `{size.stage}`, as the release path builds it
(`infra.package`: `chalice package` with the stage's requirements, manylinux wheels from
PyPI, plus bytecode): **{size.zipped / mib:.2f} MiB zipped** ({verdict} against {limit}),
{size.unzipped / mib:.2f} MiB unzipped, {size.files} files. boto3 is not in it (the Lambda
runtime has it). Largest parts, unzipped: {largest}.
"""
    return rows, text


def console_part() -> Tuple[List[Row], str]:
    first = console_size.measure()
    kib = 1024
    budget = f"{console_size.BUDGET_COMPRESSED // kib} KiB"
    verdict = "ok" if first.within_budget else "ABOVE BUDGET"
    rows: List[Row] = [
        ("console", "first load, gzipped", f"{first.compressed / kib:.1f} KiB", f"budget {budget}: {verdict}"),
        ("console", "first load, raw", f"{first.raw / kib:.1f} KiB", f"{len(first.files)} files"),
    ]
    lines = [[f"`{name}`", f"{raw / kib:.1f}", f"{packed / kib:.1f}"] for name, raw, packed in first.files]
    lines.append(["**first load**", f"{first.raw / kib:.1f}", f"{first.compressed / kib:.1f}"])
    text = f"""## Console

`make bench`, {machine()}.

What a browser fetches to open `/console` for the first time: the page and the two assets
it names, as `make console` builds them (esbuild, minified: Preact with htm, CodeMirror 6
with its JSON language, lint and completion, and the console's screens). Compressed is
gzip at level 9, as a CDN or API Gateway's compression would send it; later loads fetch
the page only (the assets are kept for a year, their names changing with their content).

{table(["file", "raw KiB", "gzipped KiB"], lines, "lrr")}

**{first.compressed / kib:.1f} KiB gzipped** against a budget of {budget}: **{verdict}**. Serving it
costs the cold start nothing: `import app` does not load `chalicelib.console`
(`tests/test_cold_start.py`); the console's routes load it on their first request.
"""
    return rows, text


# The connection bursts: (concurrent clients, requests), 10 requests per client.
CONNECTION_LOADS = ((50, 500), (200, 2000))


def connections_text(found: List[connections.Burst]) -> Tuple[List[Row], str]:
    rows: List[Row] = []
    lines: List[List[str]] = []
    for one in found:
        verdict = "ok" if one.refused == 0 and one.dropped == 0 else "ABOVE TARGET"
        rows.append(
            (
                "connections",
                f"{one.clients} clients: refused / dropped",
                f"{one.refused} / {one.dropped}",
                f"of {one.requests:,}; target 0: {verdict}",
            )
        )
        reasons = "; ".join(f"{count} x {reason}" for reason, count in sorted(one.reasons.items())) or "none"
        lines.append(
            [
                f"{one.clients}",
                f"{one.requests:,}",
                f"{one.seconds:.1f}",
                connections.describe(one),
                f"{one.refused}",
                f"{one.dropped}",
                reasons,
            ]
        )
    headers = ["clients", "requests", "seconds", "answers", "refused", "dropped", "failures and 5xx, as seen"]
    text = f"""### Connections

Does `make run`'s stack answer every connection? `bench/connections.py`: a burst against
`python -m devstack` (moto) from that many concurrent clients, 10 requests each, one
write (`POST /metadata`) for three page reads (`GET /sites/{{site}}/pages/{{page}}`), each
client a keep-alive HTTP client (requests) that asks for `Connection: close`. A request
either gets an answer (any status), or its connection is refused (never opened) or
dropped (opened, then closed or reset without an answer, or none within 60 s).

{table(headers, lines, "rrrlrrl")}

The server listens with a backlog of {LISTEN_BACKLOG:,} connections (`devstack/supervisor.py`), and
every answer after which it closes the connection says `Connection: close` (RFC 9112,
9.6): before, a client that keeps connections sent its next request on one the server
was closing, and got no answer (the "no answer" of earlier runs: 6.7% of connections at
50 clients in this burst).
"""
    return rows, text


def burst_part(load: burst.Load, variants: Tuple[str, ...] = burst.VARIANTS) -> Tuple[List[Row], str]:
    # The connection bursts belong to the section too: measured with every variant only.
    connection_rows, connection_text = (
        connections_text(connections.measure(CONNECTION_LOADS)) if variants == burst.VARIANTS else ([], "")
    )
    _, outcomes = burst.measure(load, variants)
    rows: List[Row] = list(connection_rows)
    lines: List[List[str]] = []
    for outcome in outcomes:
        short = outcome.variant.split(" (")[0]
        rows += [
            ("burst", f"{short}: client errors", f"{outcome.error_rate:.1%}", burst.describe_errors(outcome.errors)),
            (
                "burst",
                f"{short}: accepted p50 / p99",
                f"{outcome.percentile(0.5) * 1000:.0f} / {outcome.percentile(0.99) * 1000:.0f} ms",
                "",
            ),
            (
                "burst",
                f"{short}: drained after",
                f"{outcome.drain_seconds:.1f} s",
                f"all applied {outcome.applied_seconds:.1f} s from the first request",
            ),
            ("burst", f"{short}: writes lost", str(outcome.lost), f"{outcome.dead_letters} dead letters"),
        ]
        lines.append(
            [
                outcome.variant,
                f"{outcome.error_rate:.1%} ({burst.describe_errors(outcome.errors)})",
                f"{outcome.percentile(0.5) * 1000:.0f}",
                f"{outcome.percentile(0.99) * 1000:.0f}",
                f"{outcome.burst_seconds:.1f}",
                f"{outcome.drain_seconds:.1f}",
                f"{outcome.applied_seconds:.1f}",
                f"{outcome.lost}",
                f"{outcome.acknowledged_not_applied}",
                f"{outcome.sqs_throttled:,}",
                f"{outcome.throttled_calls + outcome.partition_throttled:,}",
                f"{outcome.most_batches}" if outcome.most_batches else "",
            ]
        )
    headers = [
        "variant",
        "client errors",
        "accepted p50 ms",
        "accepted p99 ms",
        "burst s",
        "drained after s",
        "all applied s",
        "lost",
        "acknowledged, not applied",
        "sends throttled",
        "table writes throttled",
        "most batches at once",
    ]
    limits = load.limits()
    text = f"""## Burst

`make bench-burst` (also part of `make bench`), {machine()}.

{load.requests:,} `POST /metadata` (each a new page's config, one site) from {load.clients} concurrent
clients, a new connection per request, against AWS's limits as `bench/emulator.py` holds moto
to them, each of AWS's rates divided by {load.scale:,.0f} so that this machine's burst (the API
here answers some tens of requests a second) meets them:

- SQS: in the default FIFO mode, {limits.fifo_queue_sends:g} `SendMessage` calls a second per queue
  (AWS: 300); in high-throughput mode, {limits.fifo_group_sends:g} per message group and
  {limits.high_throughput_queue_sends:,.0f} per queue (AWS: 300 and 70,000); past it, `ThrottlingException`;
- DynamoDB: {limits.partition_write_units:g} write units a second per partition (AWS: 1,000), and
  {load.write_rate:.0f} write calls a second for the table as a whole ({load.write_burst:.0f} saved up at most);
  past either, `ProvisionedThroughputExceededException`;
- the worker's cap: {limits.worker_cap} batches of the write queue at once (dev's
  `reserved_concurrency`; the local stack polls the queue with as many pollers).

The same emulator, limits and load serve each variant, one after the other:

- **decoupled, high-throughput FIFO** (the queue as both release paths make it): the local
  stack (`python -m devstack --aws` pointed at the emulator): the API validates, reads once,
  sends to SQS and answers 202; the worker applies;
- **decoupled, default FIFO**: the same, with the queue switched to SQS's default FIFO mode;
- **direct write**: `bench/direct_write.py`, the naive design: the same validation and
  token check, then the config's transaction straight to the table, 201.

The SDK's retries (standard mode, 3 attempts with backoff, `chalicelib/services.py`) apply
to all. Latency is of accepted requests (202 or 201), as the client saw it. "Drained after"
runs from the last answer until every accepted write is in the table (the queue empty);
"all applied" from the first request. "Lost" counts writes sent that are not in the table
once everything settled, as for a client that does not retry; "acknowledged, not applied"
counts 202s and 201s whose write never landed. "Sends throttled" counts the `SendMessage`
calls SQS refused (the SDK retried some of them), "table writes throttled" the write calls
the table or a partition refused.

{table(headers, lines, "lrrrrrrrrrrr")}

With the queue in the default FIFO mode the burst meets SQS's send limit before anything
else: the API's sends are throttled, the SDK's retries absorb a few, and the rest are
`503`s, writes a client must send again. In high-throughput mode the limit is per message
group (a page's config here), so the same burst is accepted whole and waits in the queue
for the worker, whose cap and the table's partitions set the pace. The direct path passes
the table's throttling to the clients: what the SDK's retries cannot absorb becomes a 503.
`python -m bench.simulate` works out the same at AWS's own scale
([docs/capacity.md](capacity.md)).

{connection_text}"""
    return rows, text


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=["coldstart", "calls", "package", "console", "burst"], action="append")
    parser.add_argument("--runs", type=int, default=15, help="cold-start runs of each (default 15)")
    parser.add_argument("--requests", type=int, default=burst.Load.requests)
    parser.add_argument("--clients", type=int, default=burst.Load.clients)
    parser.add_argument("--write-rate", type=float, default=burst.Load.write_rate)
    parser.add_argument("--scale", type=float, default=burst.Load.scale, help="AWS's rates divided by this")
    parser.add_argument("--worker-cap", type=int, default=burst.Load.worker_cap)
    parser.add_argument(
        "--variants",
        default=",".join(burst.VARIANTS),
        help=f"the burst's variants, comma-separated (default {','.join(burst.VARIANTS)})",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = parser.parse_args(argv)
    parts = args.only or ["coldstart", "calls", "package", "console", "burst"]
    load = burst.Load(
        requests=args.requests,
        clients=args.clients,
        write_rate=args.write_rate,
        write_burst=args.write_rate,
        scale=args.scale,
        worker_cap=args.worker_cap,
    )
    variants = tuple(name.strip() for name in args.variants.split(",") if name.strip())
    unknown = [name for name in variants if name not in burst.VARIANTS]
    if unknown or not variants:
        parser.error(f"--variants: choose from {', '.join(burst.VARIANTS)}")
    titles = {
        "coldstart": "Cold start",
        "calls": "AWS calls",
        "package": "Package size",
        "console": "Console",
        "burst": "Burst",
    }
    rows: List[Row] = []
    for part in parts:
        print(f"bench: {titles[part]}...", file=sys.stderr, flush=True)
        if part == "coldstart":
            found, text = cold_start_part(args.runs)
        elif part == "calls":
            found, text = calls_part()
        elif part == "package":
            found, text = package_part()
        elif part == "console":
            found, text = console_part()
        else:
            found, text = burst_part(load, variants)
        rows += found
        # Some of the burst's variants alone would leave the rest of its section out.
        if not args.no_write and (part != "burst" or variants == burst.VARIANTS):
            replace_section(titles[part], text)
    print(table(["part", "measure", "value", "note"], [list(row) for row in rows], "llrl"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
