"""`bench.simulate`: its arithmetic against cases worked by hand, and against the emulator's
limits run in virtual time with the service's own API and worker (`bench.virtual`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import virtual
from bench.emulator import Limits
from bench.simulate import (
    BATCH,
    SITE_UNITS,
    TABLE_UNITS,
    Burst,
    Costs,
    Model,
    main,
    measured_costs,
    simulate,
    stage_model,
)
from infra.monitoring import alarms
from infra.operations import StageOperations
from infra.resources import StageResources

INFINITE = float("inf")
# 4 calls of 25 ms: an operation takes 0.1 s of a lane.
COSTS = Costs(api_calls=("BatchGetItem", "SendMessage"), worker_calls=("A", "B", "C", "D"))


def model(cap: int = 1, **changes: Any) -> Model:
    """A lane applies 10 operations a second; nothing else binds unless asked to."""
    limits = Limits(worker_cap=cap, partition_write_units=1e9, table_write_units=1e9, high_throughput_queue_sends=1e9)
    found = Model(
        api_rate=INFINITE,
        api_burst=0,
        high_throughput=True,
        limits=limits,
        costs=COSTS,
        call_seconds=0.025,
        receive_calls=1e9,
    )
    return replace(found, **changes)


def test_arrivals_below_the_workers_pace_never_queue() -> None:
    outcome = simulate(model(cap=2), Burst(rate=15, duration=60, sites=3))  # 15 a second against 20
    assert outcome.accepted == pytest.approx(900)
    assert outcome.peak_depth < 2  # what arrives in a step, served the same step
    assert outcome.oldest < 0.2
    assert outcome.drain_after_burst == pytest.approx(0, abs=0.2)
    assert outcome.alarm_at is None


def test_twice_the_pace_for_t_seconds_drains_in_about_t_more() -> None:
    outcome = simulate(model(cap=2), Burst(rate=40, duration=30, sites=3))  # 40 a second against 20
    assert outcome.peak_depth == pytest.approx(20 * 30, rel=0.01)
    assert outcome.drain_after_burst == pytest.approx(30, abs=0.3)
    # The last write arrives at 30 s and leaves at about 60 s: it waited about 30 s.
    assert outcome.oldest == pytest.approx(30, abs=0.5)
    assert outcome.pace_set_by == "the worker's cap"


def test_the_default_fifo_queue_refuses_sends_past_its_limit() -> None:
    limits = replace(model().limits, fifo_queue_sends=100)
    outcome = simulate(model(limits=limits, high_throughput=False), Burst(rate=250, duration=10, sites=5))
    # 100 a second, and the bucket's 100 saved up at the start.
    assert outcome.accepted == pytest.approx(100 * 10 + 100, rel=0.01)
    assert outcome.refused == pytest.approx(2500 - outcome.accepted)
    assert outcome.throttled == 0
    # The same burst in high-throughput mode: every send accepted.
    assert simulate(model(limits=limits), Burst(rate=250, duration=10, sites=5)).refused == 0


def test_the_apis_throttle_answers_429_before_anything_is_queued() -> None:
    outcome = simulate(model(api_rate=25, api_burst=50), Burst(rate=100, duration=20, sites=1))
    assert outcome.accepted == pytest.approx(25 * 20 + 50, rel=0.01)
    assert outcome.throttled == pytest.approx(2000 - outcome.accepted)


def test_a_sites_partitions_bound_the_pace_when_the_writes_go_to_few_sites() -> None:
    limits = replace(model(cap=10).limits, partition_write_units=20)  # 10 operations a second a site
    one_site = simulate(model(cap=10, limits=limits), Burst(rate=50, duration=10, sites=1))
    assert one_site.pace == pytest.approx(20 / SITE_UNITS)
    assert one_site.pace_set_by == "a site's partitions"
    assert one_site.drained_at == pytest.approx(500 / 10, abs=0.3)
    # Spread over 50 sites, the 8 outbox index partitions bind: 8 x 20 / 2 a second.
    spread = simulate(model(cap=10, limits=limits), Burst(rate=50, duration=10, sites=50))
    assert (spread.pace, spread.pace_set_by) == (80, "the outbox index's partitions")
    roomy = replace(limits, partition_write_units=1000)
    assert simulate(model(cap=10, limits=roomy), Burst(50, 10, 50)).pace_set_by == "the worker's cap"


def test_the_alarm_fires_once_the_oldest_write_is_older_than_its_threshold() -> None:
    threshold = model().alarm_seconds
    # 20 a second for 600 s against 10: the write at t waits t seconds, so the oldest
    # passes the threshold at about 2 x threshold.
    outcome = simulate(model(), Burst(rate=20, duration=600, sites=2), step=0.5)
    assert outcome.alarm_at is not None
    assert 2 * threshold <= outcome.alarm_at <= 2 * threshold + model().alarm_period
    # Just under: the oldest waits about threshold - 20 s.
    under = simulate(model(), Burst(rate=20, duration=threshold - 20, sites=2), step=0.5)
    assert under.oldest < threshold
    assert under.alarm_at is None


def test_the_stages_model_takes_the_alarm_cap_and_throttle_from_the_code() -> None:
    operations = StageOperations.for_stage(StageResources.for_stage("prod"))
    (alarm,) = [found for found in alarms(operations) if found.key == "write-queue-age"]
    prod = stage_model("prod")
    assert prod.alarm_seconds == alarm.threshold
    assert (prod.alarm_period, prod.alarm_periods) == (alarm.period, alarm.evaluation_periods)
    assert prod.limits.worker_cap == operations.worker_concurrency
    assert prod.api_rate == operations.limits.writes.rate


def test_the_costs_are_read_from_the_benchmarks_table(tmp_path: Path) -> None:
    benchmarks = tmp_path / "benchmarks.md"
    benchmarks.write_text(
        "| request | kind | calls | authorizer | against the floor |\n|---|---|---|---|---|\n"
        "| `POST /metadata` | write | BatchGetItem, SendMessage | GetItem | at floor |\n"
        "| `worker: config.create` | worker | 2 x BatchGetItem, TransactWriteItems | none | at floor |\n"
    )
    costs = measured_costs(benchmarks)
    assert costs.api_calls == ("BatchGetItem", "SendMessage")
    assert costs.worker_calls == ("BatchGetItem", "BatchGetItem", "TransactWriteItems")
    benchmarks.write_text("| `POST /metadata` | write | SendMessage | GetItem | at floor |\n")
    with pytest.raises(ValueError, match=r"worker: config\.create"):
        measured_costs(benchmarks)


def test_the_command_prints_depth_drain_and_the_alarm(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rate", "200", "--duration", "60", "--sites", "10", "--stage", "prod", "--api-rate", "0"]) == 0
    printed = capsys.readouterr().out
    assert "queue depth" in printed
    assert "drained" in printed
    assert "write-queue-age (> 300 s)" in printed
    with pytest.raises(SystemExit):
        main(["--rate", "0"])


# Against the emulator, in virtual time: the real API and worker, moto's FIFO queue, the
# emulator's limits. Tolerance: 15% of the drain time and of the peak depth, plus what
# discrete batches add (one batch of each lane, and a second of sampling).
TOLERANCE = 0.15
CALL_SECONDS = 0.02


def within(found: float, expected: float, slack: float) -> bool:
    return abs(found - expected) <= TOLERANCE * expected + slack


def emulated_and_simulated(
    burst: Burst, limits: Limits, high_throughput: bool = True
) -> tuple[virtual.Run, Any, Model]:
    emulated = virtual.run(burst, limits, high_throughput, CALL_SECONDS)
    simulated_model = Model(
        api_rate=INFINITE,
        api_burst=0,
        high_throughput=high_throughput,
        limits=limits,
        costs=measured_costs(),
        call_seconds=CALL_SECONDS,
    )
    return emulated, simulate(simulated_model, burst, step=0.01), simulated_model


def test_the_simulation_agrees_with_the_emulator_when_the_worker_sets_the_pace(aws: None) -> None:
    limits = Limits(worker_cap=2, partition_write_units=1e6, table_write_units=1e9, visibility_seconds=3600)
    burst = Burst(rate=40, duration=3, sites=4)
    emulated, simulated, used = emulated_and_simulated(burst, limits)
    # The worker made the calls `make bench` measured, for each operation.
    assert virtual.calls_per_operation(emulated) == len(used.costs.worker_calls)
    batch = BATCH * used.operation_seconds
    assert emulated.accepted == 120
    assert emulated.drain_after_burst is not None
    assert simulated.drain_after_burst is not None
    assert within(emulated.drain_after_burst, simulated.drain_after_burst, batch + 1), (emulated, simulated)
    assert within(emulated.peak_depth, simulated.peak_depth, BATCH * limits.worker_cap), (emulated, simulated)
    assert emulated.most_lanes == limits.worker_cap


def test_the_simulation_agrees_with_the_emulator_on_the_default_fifo_send_limit(aws: None) -> None:
    limits = Limits(
        worker_cap=2, partition_write_units=1e6, table_write_units=1e9, fifo_queue_sends=10, visibility_seconds=3600
    )
    burst = Burst(rate=40, duration=3, sites=4)
    emulated, simulated, _ = emulated_and_simulated(burst, limits, high_throughput=False)
    assert emulated.refused > 0
    assert emulated.accepted == pytest.approx(simulated.accepted, abs=2)
    assert emulated.refused == pytest.approx(simulated.refused, abs=2)
    high = virtual.run(burst, limits, True, CALL_SECONDS)
    assert (high.accepted, high.refused) == (120, 0)


def test_the_simulation_agrees_with_the_emulator_when_a_sites_partition_sets_the_pace(aws: None) -> None:
    # 24 write units a second a partition: 12 operations a second on one site, under the
    # worker's 2 lanes (20 a second).
    limits = Limits(worker_cap=2, partition_write_units=24, table_write_units=1e9, visibility_seconds=3600)
    burst = Burst(rate=30, duration=3, sites=1)
    emulated, simulated, used = emulated_and_simulated(burst, limits)
    assert simulated.pace_set_by == "a site's partitions"
    site_units = emulated.units["table:SITE#site-0000"]
    assert site_units / emulated.operations == SITE_UNITS  # the page's item, in a transaction
    assert sum(emulated.units.values()) / emulated.operations == TABLE_UNITS
    assert emulated.drain_after_burst is not None
    assert simulated.drain_after_burst is not None
    batch = BATCH * used.operation_seconds
    assert within(emulated.drain_after_burst, simulated.drain_after_burst, batch + 1), (emulated, simulated)
