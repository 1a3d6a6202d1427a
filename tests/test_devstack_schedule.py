"""The local scheduler: EventBridge's rate expressions (cron ones are refused, not yet
supported), and a tiny Chalice app's `@app.schedule` functions fired at their times
through `chalice.test.Client`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Dict, List

import pytest
from chalice.app import Chalice, CloudWatchEvent, Cron, Rate
from chalice.test import Client

from devstack.schedule import ScheduleError, Scheduler, parse_expression, scheduled_event
from tests.helpers import Clock

START = datetime(2024, 1, 31, 10, 7, 30, tzinfo=UTC)


def next_time(expression: Any, after: datetime = START) -> datetime:
    return parse_expression(expression, START).next_after(after)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(5 minutes)", "2024-01-31T10:12:30"),
        ("rate(1 minute)", "2024-01-31T10:08:30"),
        ("rate(2 hours)", "2024-01-31T12:07:30"),
        ("RATE(1 day)", "2024-02-01T10:07:30"),
        (Rate(3, unit=Rate.HOURS), "2024-01-31T13:07:30"),
        (Rate(1, unit=Rate.DAYS), "2024-02-01T10:07:30"),
    ],
)
def test_a_rate_counts_from_the_start(expression: Any, expected: str) -> None:
    assert next_time(expression) == at(expected)


def test_a_rate_skips_the_times_it_missed() -> None:
    trigger = parse_expression("rate(10 minutes)", START)
    assert trigger.next_after(START + timedelta(minutes=35)) == START + timedelta(minutes=40)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "not a rate"),
        ("every 5 minutes", "not a rate"),
    ],
)
def test_expressions_eventbridge_refuses_are_refused(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_expression(expression, START)


def test_the_event_is_a_cloudwatch_scheduled_event() -> None:
    event = scheduled_event("metadata-manager", "local", "check", "eu-west-1", at("2024-01-31T10:00:00"))
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2024-01-31T10:00:00Z"
    assert event["region"] == "eu-west-1"
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/metadata-manager-local-check"]
    assert event["detail"] == {}


def tiny_app(calls: List[Dict[str, Any]]) -> Chalice:
    app = Chalice(app_name="tiny")

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def every_five(event: CloudWatchEvent) -> Dict[str, Any]:
        calls.append({"name": "every_five", "type": event.detail_type, "time": event.time})
        return {"ok": True}

    @app.schedule(Rate(2, unit=Rate.HOURS), name="two_hourly")
    def every_two_hours(event: CloudWatchEvent) -> None:
        calls.append({"name": "two_hourly", "resources": event.resources})

    @app.schedule("rate(1 hour)")
    def broken(event: CloudWatchEvent) -> None:
        raise RuntimeError("this check fails")

    @app.route("/")
    def index() -> Dict[str, str]:
        return {"not": "scheduled"}

    return app


@pytest.fixture
def calls() -> List[Dict[str, Any]]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def scheduler(calls: List[Dict[str, Any]], clock: Clock) -> Scheduler:
    app = tiny_app(calls)
    client = Client(app)
    return Scheduler(app, "local", "us-east-1", lambda name, event: client.lambda_.invoke(name, event).payload, clock)


def test_every_scheduled_function_is_found_with_its_next_time(scheduler: Scheduler) -> None:
    assert scheduler.describe() == [
        "every_five: rate(5 minutes), next at 2024-01-31 10:12:30 UTC",
        "two_hourly: rate(2 hours), next at 2024-01-31 12:07:30 UTC",
        "broken: rate(1 hour), next at 2024-01-31 11:07:30 UTC",
    ]


def test_each_function_fires_at_its_own_rate(scheduler: Scheduler, clock: Clock, calls: List[Dict[str, Any]]) -> None:
    assert scheduler.run_pending() == []
    clock.now = at("2024-01-31T10:12:30")
    assert scheduler.run_pending() == ["every_five"]
    assert scheduler.run_pending() == []
    clock.now = at("2024-01-31T10:17:31")
    assert scheduler.run_pending() == ["every_five"]
    clock.now = at("2024-01-31T12:07:35")
    # `broken` raises; the others still fire, and it stays scheduled.
    assert scheduler.run_pending() == ["every_five", "two_hourly", "broken"]
    assert [call["name"] for call in calls] == ["every_five", "every_five", "every_five", "two_hourly"]
    assert calls[0] == {"name": "every_five", "type": "Scheduled Event", "time": "2024-01-31T10:12:30Z"}
    assert calls[-1]["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/tiny-local-two_hourly"]
    assert scheduler.schedules["broken"].next_at == at("2024-01-31T13:07:30")


def test_fire_runs_one_function_now_and_gives_its_answer(scheduler: Scheduler, calls: List[Dict[str, Any]]) -> None:
    assert scheduler.fire("every_five") == {"ok": True}
    assert calls[0]["time"] == "2024-01-31T10:07:30Z"
    with pytest.raises(RuntimeError, match="this check fails"):
        scheduler.fire("broken")
    with pytest.raises(KeyError, match="every_five, two_hourly"):
        scheduler.fire("index")


def test_the_loop_sleeps_until_the_next_time_and_stops_when_told(scheduler: Scheduler, clock: Clock) -> None:
    assert scheduler.seconds_to_next() == 300.0
    stop = threading.Event()
    stop.set()
    scheduler.run(stop)  # returns at once: nothing is due, and it was told to stop


def test_an_app_without_schedules_has_nothing_to_fire() -> None:
    scheduler = Scheduler(Chalice(app_name="empty"), "local", "us-east-1", lambda name, event: None)
    assert scheduler.schedules == {}
    assert scheduler.seconds_to_next() is None
    with pytest.raises(KeyError, match="none"):
        scheduler.fire("anything")


def test_an_invalid_expression_stops_the_scheduler_with_the_reason() -> None:
    app = Chalice(app_name="bad")

    @app.schedule("rate(0 hours)")
    def check(event: CloudWatchEvent) -> None:
        return None

    with pytest.raises(ScheduleError, match=r"^check: 'rate\(0 hours\)': a rate must be at least 1$"):
        Scheduler(app, "local", "us-east-1", lambda name, event: None)


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", Cron(0, 12, "*", "*", "?", "*")])
def test_a_cron_schedule_stops_the_scheduler_saying_it_is_not_supported_yet(expression: Any) -> None:
    app = Chalice(app_name="nightly")

    @app.schedule(expression, name="noon_report")
    def report(event: CloudWatchEvent) -> None:
        return None

    with pytest.raises(ScheduleError) as refused:
        Scheduler(app, "local", "us-east-1", lambda name, event: None)
    # The worker prints this after "devstack: cannot schedule: " and stops.
    assert str(refused.value) == (
        "noon_report: 'cron(0 12 * * ? *)': cron schedules are not supported by the local stack yet; "
        "rate(N minutes|hours|days) schedules work"
    )
