"""`make simulate` (`python -m bench.simulate`): what a burst of writes does to a deployed
stage, on paper. No AWS, no moto: arithmetic over the stage's own limits (infra/operations.py,
.chalice/config.json, the `write-queue-age` alarm of infra/monitoring.py), AWS's documented
limits (docs/capacity.md) and the costs `make bench` measured (docs/benchmarks.md, "AWS
calls": the calls of `POST /metadata` and of the worker's `config.create`).

A burst is `rate` writes a second for `duration` seconds, each a new page's config, spread
evenly over `sites` sites. Each second it passes, in order:

1. API Gateway: the write route's token bucket (rate and burst); past it, `429`.
2. SQS: SendMessage's limit (default FIFO: per queue; high-throughput FIFO: per message
   group, each page its own group, and per queue); past it, the API answers `503`.
   (The SDK retries a throttled send; a retry spends the same limit, so over a second
   the count of sends accepted is the same; it is left out.)
3. The queue: what was accepted waits, oldest first.
4. The worker: at most `cap` batches at once, each operation `worker calls x call time`
   seconds; bounded too by DynamoDB's write units per partition (the busiest partition of
   a site takes `site units` per operation; the change-events outbox's index partitions
   `outbox units`), by the table's on-demand quota (`table units` per operation) and by
   ReceiveMessage's limit (10 messages a call).

It prints the queue's depth and the age of its oldest message over time, the time to
drain, and whether (and when) the `write-queue-age` alarm fires.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bench.emulator import Limits
from infra.monitoring import alarms
from infra.operations import StageOperations
from infra.resources import PROJECT_DIR, StageResources

BENCHMARKS = PROJECT_DIR / "docs" / "benchmarks.md"
WRITE_REQUEST = "POST /metadata"
WORKER_OPERATION = "worker: config.create"
ALARM = "write-queue-age"
# Lambda's SQS event source hands the worker up to 10 messages of a FIFO queue at a time.
BATCH = 10
# Write units per config.create on the partitions it shares with other operations (each
# item well under 1 KB, written in a transaction: 2 units): the site's partition (the
# page's item) and the site's audit partition (its audit entry) take 2 each; one of the 8
# outbox index partitions takes the outbox item's entry and its removal, 1 each.
# tests/test_simulate.py holds the emulator's count of a real operation to these.
SITE_UNITS = 2
OUTBOX_UNITS = 2
OUTBOX_SHARDS = 8
# All of it, table and index: the config's two items (4), the page (2), the audit entry
# (2), the operation's record (2), the outbox item written and deleted (3), its index entry (2).
TABLE_UNITS = 15
# The SDK's call time in AWS, inside the region: a few milliseconds to a few tens.
CALL_SECONDS = 0.015


@dataclass(frozen=True)
class Costs:
    """What one write costs, as `make bench` measured it."""

    api_calls: Tuple[str, ...]
    worker_calls: Tuple[str, ...]

    @property
    def sends(self) -> int:
        return sum(call == "SendMessage" for call in self.api_calls)


def _calls(cell: str) -> Tuple[str, ...]:
    found: List[str] = []
    for part in cell.split(","):
        match = re.fullmatch(r"\s*(?:(\d+) x )?(\w+)\s*", part)
        if match is None:
            raise ValueError(f"cannot read the calls {cell!r}")
        found += [match.group(2)] * int(match.group(1) or 1)
    return tuple(found)


def measured_costs(path: Path = BENCHMARKS) -> Costs:
    """The calls of a config write and of its operation in the worker, from the "AWS calls"
    table `make bench` wrote into docs/benchmarks.md."""
    rows: Dict[str, Tuple[str, ...]] = {}
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        if len(cells) >= 3 and name in (WRITE_REQUEST, WORKER_OPERATION) and name not in rows:
            rows[name] = _calls(cells[2]) if cells[2] != "none" else ()
    missing = [name for name in (WRITE_REQUEST, WORKER_OPERATION) if name not in rows]
    if missing:
        raise ValueError(f"{path} has no AWS calls row for {', '.join(missing)}: run `make bench`")
    return Costs(api_calls=rows[WRITE_REQUEST], worker_calls=rows[WORKER_OPERATION])


@dataclass(frozen=True)
class Burst:
    rate: float  # writes a second
    duration: float  # seconds
    sites: int


@dataclass(frozen=True)
class Model:
    """Every figure the simulation uses."""

    api_rate: float  # the write route's throttle, requests a second (inf: none)
    api_burst: float
    high_throughput: bool
    limits: Limits  # SQS's and DynamoDB's limits and the worker's cap
    costs: Costs
    call_seconds: float = CALL_SECONDS
    site_units: float = SITE_UNITS
    outbox_units: float = OUTBOX_UNITS
    outbox_shards: int = OUTBOX_SHARDS
    table_units: float = TABLE_UNITS
    # ReceiveMessage calls a second (SQS FIFO's per-action limit) and messages a call.
    receive_calls: float = 300.0
    alarm_seconds: float = 300.0
    alarm_period: int = 60
    alarm_periods: int = 1
    alarm_datapoints: int = 1

    @property
    def operation_seconds(self) -> float:
        """The worker's time for one operation: its calls, one after another."""
        return len(self.costs.worker_calls) * self.call_seconds

    def worker_rate(self) -> float:
        """Operations a second the capped worker applies."""
        return self.limits.worker_cap / self.operation_seconds

    def site_partition_rate(self, sites: int) -> float:
        """Operations a second the sites' partitions allow, the load spread over `sites`."""
        return sites * self.limits.partition_write_units / self.site_units

    def outbox_partition_rate(self) -> float:
        """Operations a second the outbox index's partitions allow (every operation that
        changes what a site serves passes through one of them)."""
        return self.outbox_shards * self.limits.partition_write_units / self.outbox_units

    def receive_rate(self) -> float:
        calls = self.receive_calls if not self.high_throughput else self.limits.high_throughput_queue_sends
        return calls * BATCH

    def send_rate(self, sites: int) -> float:
        """SendMessage calls a second the queue accepts (each page its own group)."""
        if self.high_throughput:
            return self.limits.high_throughput_queue_sends
        return self.limits.fifo_queue_sends

    def service_rate(self, sites: int) -> Tuple[float, str]:
        """The worker's pace and what sets it."""
        candidates = {
            "the worker's cap": self.worker_rate(),
            "a site's partitions": self.site_partition_rate(sites),
            "the outbox index's partitions": self.outbox_partition_rate(),
            "the table's on-demand quota": self.limits.table_write_units / self.table_units,
            "SQS's ReceiveMessage limit": self.receive_rate(),
        }
        name = min(candidates, key=lambda key: candidates[key])
        return candidates[name], name


def stage_model(
    stage: str,
    high_throughput: bool = True,
    costs: Optional[Costs] = None,
    call_seconds: float = CALL_SECONDS,
) -> Model:
    """A deployed stage's model: its write throttle, its cap and its alarm, from the code."""
    operations = StageOperations.for_stage(StageResources.for_stage(stage))
    (alarm,) = [alarm for alarm in alarms(operations) if alarm.key == ALARM]
    return Model(
        api_rate=operations.limits.writes.rate,
        api_burst=operations.limits.writes.burst,
        high_throughput=high_throughput,
        limits=replace(Limits(), worker_cap=operations.worker_concurrency),
        costs=costs or measured_costs(),
        call_seconds=call_seconds,
        alarm_seconds=float(alarm.threshold),
        alarm_period=alarm.period,
        alarm_periods=alarm.evaluation_periods,
        alarm_datapoints=alarm.datapoints,
    )


@dataclass
class Outcome:
    burst: Burst
    offered: float = 0.0
    throttled: float = 0.0  # 429: the API's throttle
    refused: float = 0.0  # 503: SQS's send limit
    accepted: float = 0.0
    samples: List[Tuple[float, float, float]] = field(default_factory=list)  # (t, depth, oldest age)
    drained_at: Optional[float] = None  # seconds from the burst's start
    pace: float = 0.0
    pace_set_by: str = ""
    alarm_at: Optional[float] = None

    @property
    def peak_depth(self) -> float:
        return max((depth for _, depth, _ in self.samples), default=0.0)

    @property
    def oldest(self) -> float:
        return max((age for _, _, age in self.samples), default=0.0)

    @property
    def drain_after_burst(self) -> Optional[float]:
        return None if self.drained_at is None else max(0.0, self.drained_at - self.burst.duration)


class _Bucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens = rate, capacity, capacity

    def admit(self, wanted: float, seconds: float) -> float:
        if math.isinf(self.rate):
            return wanted
        self.tokens = min(self.capacity, self.tokens + self.rate * seconds)
        granted = min(wanted, self.tokens)
        self.tokens -= granted
        return granted


def simulate(model: Model, burst: Burst, step: float = 0.1, horizon: float = 7 * 24 * 3600) -> Outcome:
    """The burst through the model, `step` seconds at a time, until the queue is empty."""
    outcome = Outcome(burst)
    api = _Bucket(model.api_rate, model.api_burst)
    sends = _Bucket(model.send_rate(burst.sites), model.send_rate(burst.sites))
    pace, outcome.pace_set_by = model.service_rate(burst.sites)
    outcome.pace = pace
    waiting: List[List[float]] = []  # [arrival time, amount], oldest first
    period_ages: Dict[int, float] = {}
    t, sample_every, next_sample = 0.0, 1.0, 0.0
    while t < horizon:
        arriving = burst.rate * min(step, max(0.0, burst.duration - t))
        if arriving > 0:
            admitted = api.admit(arriving, step)
            accepted = sends.admit(admitted, step)
            outcome.offered += arriving
            outcome.throttled += arriving - admitted
            outcome.refused += admitted - accepted
            outcome.accepted += accepted
            if accepted > 0:
                waiting.append([t + step / 2, accepted])
        served = pace * step
        while served > 1e-12 and waiting:
            taken = min(served, waiting[0][1])
            waiting[0][1] -= taken
            served -= taken
            if waiting[0][1] <= 1e-9:
                waiting.pop(0)
        t += step
        depth = sum(amount for _, amount in waiting)
        age = t - waiting[0][0] if waiting else 0.0
        period = int(t // model.alarm_period)
        period_ages[period] = max(period_ages.get(period, 0.0), age)
        if t + 1e-9 >= next_sample:
            outcome.samples.append((round(t, 6), depth, age))
            sample_every = 1.0 if t < 120 else 10.0 if t < 3600 else 60.0
            next_sample = t + sample_every
        if t >= burst.duration and depth < 0.5:
            outcome.drained_at = t
            outcome.samples.append((round(t, 6), 0.0, 0.0))
            break
    outcome.alarm_at = _alarm(model, period_ages)
    return outcome


def _alarm(model: Model, period_ages: Dict[int, float]) -> Optional[float]:
    """When the alarm would fire: the end of the first period where `datapoints` of the
    last `periods` periods' maximum age is above the threshold (CloudWatch's M of N)."""
    for period in sorted(period_ages):
        window = [period_ages.get(period - back, 0.0) for back in range(model.alarm_periods)]
        if sum(age > model.alarm_seconds for age in window) >= model.alarm_datapoints:
            return float((period + 1) * model.alarm_period)
    return None


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "not within the horizon"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def report(model: Model, outcome: Outcome, rows: int = 20) -> str:
    burst = outcome.burst
    mode = "high-throughput FIFO" if model.high_throughput else "default FIFO"
    lines = [
        f"burst: {burst.rate:,.0f} writes/s for {burst.duration:,.0f} s over {burst.sites:,} sites "
        f"({outcome.offered:,.0f} writes); queue: {mode}; worker cap {model.limits.worker_cap}, "
        f"{len(model.costs.worker_calls)} calls of {model.call_seconds * 1000:.0f} ms an operation",
        f"API throttle (write route): {_rate(model.api_rate)}; SQS sends: {_rate(model.send_rate(burst.sites))}",
        "",
        f"{'t (s)':>10} {'queue depth':>12} {'oldest (s)':>11}",
    ]
    shown = outcome.samples
    if len(shown) > rows:
        every = math.ceil(len(shown) / rows)
        shown = [*shown[::every], outcome.samples[-1]]
    for t, depth, age in shown:
        lines.append(f"{t:>10,.0f} {depth:>12,.0f} {age:>11,.0f}")
    lines += [
        "",
        f"clients: {outcome.accepted:,.0f} accepted (202), {outcome.throttled:,.0f} throttled (429), "
        f"{outcome.refused:,.0f} refused by SQS (503)",
        f"worker pace: {outcome.pace:,.1f} operations/s, set by {outcome.pace_set_by}",
        f"peak depth {outcome.peak_depth:,.0f}; oldest message {_duration(outcome.oldest)}; "
        f"drained {_duration(outcome.drain_after_burst)} after the burst "
        f"({_duration(outcome.drained_at)} from its start)",
        f"{ALARM} (> {model.alarm_seconds:.0f} s): "
        + (f"fires at {_duration(outcome.alarm_at)}" if outcome.alarm_at is not None else "does not fire"),
    ]
    return "\n".join(lines)


def _rate(rate: float) -> str:
    return "none" if math.isinf(rate) else f"{rate:,.0f}/s"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.simulate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000, help="writes a second (default 10,000)")
    parser.add_argument("--duration", type=float, default=60, help="seconds (default 60)")
    parser.add_argument("--sites", type=int, default=1_000, help="sites the writes spread over (default 1,000)")
    parser.add_argument("--stage", default="prod", choices=["dev", "prod"], help="whose limits (default prod)")
    parser.add_argument("--default-fifo", action="store_true", help="the queue in SQS's default FIFO mode")
    parser.add_argument("--cap", type=int, help="the worker's cap (default: the stage's reserved_concurrency)")
    parser.add_argument("--api-rate", type=float, help="the write route's throttle a second (0: none)")
    parser.add_argument("--call-ms", type=float, default=CALL_SECONDS * 1000, help="one AWS call, ms (default 15)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="AWS's rates divided by this, as make bench-burst has them (default 1)"
    )
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help="where `make bench` wrote the calls")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.sites < 1:
        parser.error("--rate and --duration must be above 0, --sites 1 or more")
    try:
        costs = measured_costs(args.benchmarks)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    if args.scale <= 0:
        parser.error("--scale must be above 0")
    model = stage_model(args.stage, not args.default_fifo, costs, args.call_ms / 1000)
    model = replace(model, limits=model.limits.scaled(args.scale), receive_calls=model.receive_calls / args.scale)
    if args.cap is not None:
        model = replace(model, limits=replace(model.limits, worker_cap=max(1, args.cap)))
    if args.api_rate is not None:
        rate = math.inf if args.api_rate <= 0 else args.api_rate
        model = replace(model, api_rate=rate, api_burst=rate if math.isinf(rate) else max(model.api_burst, rate))
    print(report(model, simulate(model, Burst(args.rate, args.duration, args.sites))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
