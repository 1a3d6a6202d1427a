"""The local scheduler: EventBridge's rate and cron expressions, and a tiny Chalice app's
`@app.schedule` functions fired at their times through `chalice.test.Client`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Dict, List

import pytest
from chalice.app import Chalice, CloudWatchEvent, Cron, Rate
from chalice.test import Client

from devstack.schedule import ScheduleError, Scheduler, aws_weekday, parse_expression, scheduled_event
from tests.helpers import Clock

START = datetime(2024, 1, 31, 10, 7, 30, tzinfo=UTC)  # a Wednesday


def next_time(expression: Any, after: datetime = START) -> datetime | None:
    return parse_expression(expression, START).next_after(after)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_aws_numbers_the_days_of_the_week_from_sunday() -> None:
    assert aws_weekday(datetime(2024, 2, 4).date()) == 1  # Sunday
    assert aws_weekday(datetime(2024, 2, 10).date()) == 7  # Saturday


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
    ("expression", "expected"),
    [
        ("cron(0 12 * * ? *)", "2024-01-31T12:00:00"),
        ("cron(0/15 * * * ? *)", "2024-01-31T10:15:00"),
        ("cron(*/20 9-17 ? * MON-FRI *)", "2024-01-31T10:20:00"),
        ("cron(0 18 ? * 2-6 *)", "2024-01-31T18:00:00"),
        ("cron(0 8 ? * SAT,SUN *)", "2024-02-03T08:00:00"),
        ("cron(0 8 ? * FRI-MON *)", "2024-02-02T08:00:00"),
        ("cron(0 0 1 * ? *)", "2024-02-01T00:00:00"),
        ("cron(0 0 L * ? *)", "2024-02-29T00:00:00"),
        ("cron(0 0 29 FEB ? *)", "2024-02-29T00:00:00"),
        ("cron(0 0 29 2 ? 2025-2029)", "2028-02-29T00:00:00"),
        ("cron(0 9 1W 6 ? *)", "2024-06-03T09:00:00"),  # the 1st is a Saturday: Monday the 3rd
        ("cron(0 9 15W 6 ? *)", "2024-06-14T09:00:00"),  # the 15th is a Saturday: Friday the 14th
        ("cron(0 9 30W 6 ? *)", "2024-06-28T09:00:00"),  # the 30th is a Sunday: Friday the 28th
        ("cron(0 9 LW 3 ? *)", "2024-03-29T09:00:00"),  # the 31st is a Sunday
        ("cron(15 10 ? * 6L *)", "2024-02-23T10:15:00"),  # last Friday of January was the 26th
        ("cron(0 8 ? * MON#1 *)", "2024-02-05T08:00:00"),
        ("cron(0 8 ? * 4#5 *)", "2024-05-29T08:00:00"),  # a fifth Wednesday
        ("cron(0 0 ? * L *)", "2024-02-03T00:00:00"),  # alone, L in day-of-week is Saturday
        ("cron(7 10 31 1 ? 2024)", None),  # this very minute has begun: no later one
        ("cron(0 0 1 1 ? 2019)", None),
    ],
)
def test_cron_expressions_fire_when_eventbridge_would(expression: str, expected: str | None) -> None:
    assert next_time(expression) == (at(expected) if expected else None)


def test_chalice_cron_objects_are_understood() -> None:
    assert next_time(Cron(0, 3, "*", "*", "?", "*")) == at("2024-02-01T03:00:00")


def test_cron_times_are_whole_minutes_after_the_moment() -> None:
    trigger = parse_expression("cron(* * * * ? *)", START)
    assert trigger.next_after(START) == at("2024-01-31T10:08:00")
    assert trigger.next_after(at("2024-01-31T10:08:00")) == at("2024-01-31T10:09:00")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 * *)", "6 fields"),
        ("cron(60 * * * ? *)", "outside 0 to 59"),
        ("cron(0 24 * * ? *)", "outside 0 to 23"),
        ("cron(0 0 ? * 8 *)", "outside 1 to 7"),
        ("cron(0 0 ? * MON#6 *)", "outside 1 to 5"),
        ("cron(0 0 ? JUNE * *)", "not a number"),
        ("cron(*/0 * * * ? *)", "above 0"),
        ("cron(1,,2 * * * ? *)", "empty item"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "neither"),
        ("every 5 minutes", "neither"),
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

    @app.schedule("cron(0 12 * * ? *)", name="noon_check")
    def at_noon(event: CloudWatchEvent) -> None:
        calls.append({"name": "noon_check", "resources": event.resources})

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
        "noon_check: cron(0 12 * * ? *), next at 2024-01-31 12:00:00 UTC",
        "broken: rate(1 hour), next at 2024-01-31 11:07:30 UTC",
    ]


def test_each_function_fires_at_its_own_rate(scheduler: Scheduler, clock: Clock, calls: List[Dict[str, Any]]) -> None:
    assert scheduler.run_pending() == []
    clock.now = at("2024-01-31T10:12:30")
    assert scheduler.run_pending() == ["every_five"]
    assert scheduler.run_pending() == []
    clock.now = at("2024-01-31T10:17:31")
    assert scheduler.run_pending() == ["every_five"]
    clock.now = at("2024-01-31T12:00:05")
    # `broken` raises; the others still fire, and it stays scheduled.
    assert scheduler.run_pending() == ["every_five", "noon_check", "broken"]
    assert [call["name"] for call in calls] == ["every_five", "every_five", "every_five", "noon_check"]
    assert calls[0] == {"name": "every_five", "type": "Scheduled Event", "time": "2024-01-31T10:12:30Z"}
    assert calls[-1]["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/tiny-local-noon_check"]
    assert scheduler.schedules["broken"].next_at == at("2024-01-31T12:07:30")


def test_fire_runs_one_function_now_and_gives_its_answer(scheduler: Scheduler, calls: List[Dict[str, Any]]) -> None:
    assert scheduler.fire("every_five") == {"ok": True}
    assert calls[0]["time"] == "2024-01-31T10:07:30Z"
    with pytest.raises(RuntimeError, match="this check fails"):
        scheduler.fire("broken")
    with pytest.raises(KeyError, match="every_five, noon_check"):
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

    @app.schedule("cron(0 12 * * * *)")
    def check(event: CloudWatchEvent) -> None:
        return None

    with pytest.raises(ScheduleError, match="'\\?'"):
        Scheduler(app, "local", "us-east-1", lambda name, event: None)
