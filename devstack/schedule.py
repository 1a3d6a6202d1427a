"""Fires an app's `@app.schedule` functions at their own rates, as EventBridge would.

Schedule expressions are EventBridge's `rate(N minutes|hours|days)`, given as a string
or as Chalice's `Rate`. A rate AWS would refuse is refused here too, with the reason,
instead of silently never firing. `cron(...)` expressions (and Chalice's `Cron`) are not
supported by the local stack yet: an app with one stops the worker, saying which
function and expression, rather than running without that schedule.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig

log = logging.getLogger("devstack.schedule")

Invoke = Callable[[str, Dict[str, Any]], Any]
Clock = Callable[[], datetime]

LOCAL_ACCOUNT_ID = "123456789012"
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\(.*\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """A schedule expression the local stack will not fire: one EventBridge would refuse,
    or a cron expression, which it does not support yet."""


@dataclass(frozen=True)
class RateTrigger:
    """Every `period`, counted from `start` (EventBridge counts from the rule's creation)."""

    period: timedelta
    start: datetime

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`."""
        periods = (moment - self.start) // self.period + 1
        return self.start + max(periods, 1) * self.period


def expression_text(expression: object) -> str:
    """The expression as EventBridge receives it (`Rate` and `Cron` render themselves)."""
    if isinstance(expression, (Rate, Cron)):
        return str(expression.to_string())
    return str(expression)


def parse_expression(expression: object, start: datetime) -> RateTrigger:
    """A trigger for a rate expression, counting from `start`."""
    text = expression_text(expression).strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value < 1:
            raise ScheduleError(f"'{text}': a rate must be at least 1")
        return RateTrigger(timedelta(seconds=value * _UNIT_SECONDS[unit]), start)
    if isinstance(expression, Cron) or _CRON.match(text):
        raise ScheduleError(
            f"'{text}': cron schedules are not supported by the local stack yet; "
            "rate(N minutes|hours|days) schedules work"
        )
    raise ScheduleError(f"'{text}' is not a rate(N minutes|hours|days) expression")


def scheduled_event(
    app_name: str, stage: str, function_name: str, region: str, moment: datetime, account: str = LOCAL_ACCOUNT_ID
) -> Dict[str, Any]:
    """The event EventBridge hands a function for a scheduled rule (Chalice names the rule
    `<app>-<stage>-<function>`)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{app_name}-{stage}-{function_name}"],
        "detail": {},
    }


def scheduled_functions(app: Chalice) -> List[ScheduledEventConfig]:
    """The app's `@app.schedule` registrations, in the order they were declared."""
    return [source for source in app.event_sources if isinstance(source, ScheduledEventConfig)]


@dataclass
class Schedule:
    name: str
    expression: str
    trigger: RateTrigger
    next_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Keeps each scheduled function's next time and invokes it when that time comes."""

    def __init__(self, app: Chalice, stage: str, region: str, invoke: Invoke, clock: Clock = _utc_now) -> None:
        self._app_name = app.app_name
        self._stage = stage
        self._region = region
        self._invoke = invoke
        self._clock = clock
        started = clock()
        self.schedules: Dict[str, Schedule] = {}
        for source in scheduled_functions(app):
            text = expression_text(source.schedule_expression)
            try:
                trigger = parse_expression(source.schedule_expression, started)
            except ScheduleError as exc:
                raise ScheduleError(f"{source.name}: {exc}") from None
            self.schedules[source.name] = Schedule(source.name, text, trigger, trigger.next_after(started))

    def event(self, name: str, moment: Optional[datetime] = None) -> Dict[str, Any]:
        return scheduled_event(self._app_name, self._stage, name, self._region, moment or self._clock())

    def fire(self, name: str, moment: Optional[datetime] = None) -> Any:
        """Invokes one scheduled function now; its exception, if any, reaches the caller."""
        if name not in self.schedules:
            known = ", ".join(sorted(self.schedules)) or "none"
            raise KeyError(f"no scheduled function '{name}' (scheduled functions: {known})")
        return self._invoke(name, self.event(name, moment))

    def run_pending(self) -> List[str]:
        """Fires every schedule whose time has come, once each, and answers their names.
        Missed times (a laptop asleep) are skipped, as EventBridge does not catch up."""
        now = self._clock()
        fired: List[str] = []
        for schedule in self.schedules.values():
            if schedule.next_at > now:
                continue
            due = schedule.next_at
            schedule.next_at = schedule.trigger.next_after(now)
            fired.append(schedule.name)
            try:
                self.fire(schedule.name, due)
            except Exception:  # a failing check must not stop the other schedules
                log.exception("scheduled function %s raised", schedule.name)
        return fired

    def seconds_to_next(self) -> Optional[float]:
        upcoming = [schedule.next_at for schedule in self.schedules.values()]
        if not upcoming:
            return None
        return max(0.0, (min(upcoming) - self._clock()).total_seconds())

    def run(self, stop: threading.Event, max_sleep: float = 30.0) -> None:
        """Fires schedules until `stop` is set. Sleeps are capped so a clock change is noticed."""
        while not stop.is_set():
            self.run_pending()
            wait = self.seconds_to_next()
            stop.wait(max_sleep if wait is None else min(wait, max_sleep))

    def describe(self) -> Sequence[str]:
        lines = []
        for schedule in self.schedules.values():
            when = schedule.next_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            lines.append(f"{schedule.name}: {schedule.expression}, next at {when}")
        return lines
