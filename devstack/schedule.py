"""Fires an app's `@app.schedule` functions at their own rates, as EventBridge would.

Schedule expressions are EventBridge's: `rate(N unit)` and six-field
`cron(minutes hours day-of-month month day-of-week year)`, always in UTC, given as a
string or as Chalice's `Rate` and `Cron` objects. The cron parser is small and strict:
an expression AWS would refuse is refused here too, with the reason, instead of
silently never firing.
"""

from __future__ import annotations

import calendar
import functools
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Protocol, Sequence

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig

log = logging.getLogger("devstack.schedule")

Invoke = Callable[[str, Dict[str, Any]], Any]
Clock = Callable[[], datetime]
DayRule = Callable[[date], bool]

LOCAL_ACCOUNT_ID = "123456789012"
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# Spelled out: calendar.month_abbr follows the locale, EventBridge does not.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
# EventBridge numbers the days of the week 1 (Sunday) to 7 (Saturday).
_WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
# Far enough ahead for any yearly or leap-day schedule; a cron whose next time lies
# beyond it (such as a year long past) simply never fires in a local session.
_HORIZON_DAYS = 366 * 8


class ScheduleError(ValueError):
    """A schedule expression EventBridge would refuse."""


class Trigger(Protocol):
    def next_after(self, moment: datetime) -> Optional[datetime]:
        """The first firing time strictly after `moment`, or None when there is none."""


@dataclass(frozen=True)
class RateTrigger:
    """Every `period`, counted from `start` (EventBridge counts from the rule's creation)."""

    period: timedelta
    start: datetime

    def next_after(self, moment: datetime) -> Optional[datetime]:
        periods = (moment - self.start) // self.period + 1
        return self.start + max(periods, 1) * self.period


def aws_weekday(day: date) -> int:
    """1 for Sunday to 7 for Saturday, as in EventBridge's cron."""
    return (day.weekday() + 1) % 7 + 1


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _value(text: str, low: int, high: int, names: Mapping[str, int], field: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ScheduleError(f"cron {field}: '{text}' is not a number from {low} to {high}")
    number = int(text)
    if not low <= number <= high:
        raise ScheduleError(f"cron {field}: {number} is outside {low} to {high}")
    return number


def _span(text: str, low: int, high: int, names: Mapping[str, int], field: str) -> List[int]:
    """`*`, `a` or `a-b` (wrapping past the end, as in `FRI-MON`) as the values it covers."""
    if text == "*":
        return list(range(low, high + 1))
    first, dash, last = text.partition("-")
    start = _value(first, low, high, names, field)
    if not dash:
        return [start]
    end = _value(last, low, high, names, field)
    if start <= end:
        return list(range(start, end + 1))
    return list(range(start, high + 1)) + list(range(low, end + 1))


def parse_values(text: str, low: int, high: int, field: str, names: Mapping[str, int] | None = None) -> FrozenSet[int]:
    """A list of `*`, values, ranges and steps (`*/15`, `5/10`, `1-30/2`) as a set."""
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if not base:
            raise ScheduleError(f"cron {field}: '{text}' has an empty item")
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"cron {field}: the step in '{part}' must be a whole number above 0")
            if "-" not in base and base != "*":
                base = f"{base}-{high}"  # `a/n` counts from a to the end of the range
            values.update(_span(base, low, high, names, field)[:: int(step_text)])
        else:
            values.update(_span(base, low, high, names, field))
    return frozenset(values)


def _nearest_weekday(target: int, day: date) -> bool:
    """`nW`: the weekday nearest the target day of the month, never leaving the month."""
    last = _days_in_month(day)
    target = min(target, last)
    wanted = day.replace(day=target)
    if wanted.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        wanted = wanted + timedelta(days=2) if target == 1 else wanted - timedelta(days=1)
    elif wanted.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
        wanted = wanted - timedelta(days=2) if target == last else wanted + timedelta(days=1)
    return day == wanted


def _last_weekday_of_month(day: date) -> bool:
    last = day.replace(day=_days_in_month(day))
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return day == last


def day_of_month_rule(text: str) -> DayRule:
    """Day-of-month: values, ranges, steps, `L` (last day), `nW` and `LW` (nearest weekday)."""
    rules: List[DayRule] = []
    plain: List[str] = []
    for part in text.split(","):
        upper = part.upper()
        if upper == "L":
            rules.append(lambda day: day.day == _days_in_month(day))
        elif upper == "LW":
            rules.append(_last_weekday_of_month)
        elif upper.endswith("W"):
            target = _value(part[:-1], 1, 31, {}, "day-of-month")
            rules.append(functools.partial(_nearest_weekday, target))
        else:
            plain.append(part)
    if plain:
        days = parse_values(",".join(plain), 1, 31, "day-of-month")
        rules.append(lambda day: day.day in days)
    return lambda day: any(rule(day) for rule in rules)


def _last_of_month(weekday: int, day: date) -> bool:
    """`nL`: the last such weekday of the month."""
    return aws_weekday(day) == weekday and day.day + 7 > _days_in_month(day)


def _nth_of_month(weekday: int, nth: int, day: date) -> bool:
    """`n#k`: the k-th such weekday of the month."""
    return aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth


def day_of_week_rule(text: str) -> DayRule:
    """Day-of-week (1 = SUN): values, ranges, steps, `nL` (the last one of the month) and
    `n#k` (the k-th one of the month)."""
    rules: List[DayRule] = []
    plain: List[str] = []
    for part in text.split(","):
        upper = part.upper()
        if upper == "L":
            rules.append(lambda day: aws_weekday(day) == 7)  # alone, L is the last day of the week
        elif upper.endswith("L"):
            weekday = _value(part[:-1], 1, 7, _WEEKDAYS, "day-of-week")
            rules.append(functools.partial(_last_of_month, weekday))
        elif "#" in part:
            weekday_text, _, nth_text = part.partition("#")
            weekday = _value(weekday_text, 1, 7, _WEEKDAYS, "day-of-week")
            nth = _value(nth_text, 1, 5, {}, "day-of-week '#'")
            rules.append(functools.partial(_nth_of_month, weekday, nth))
        else:
            plain.append(part)
    if plain:
        weekdays = parse_values(",".join(plain), 1, 7, "day-of-week", _WEEKDAYS)
        rules.append(lambda day: aws_weekday(day) in weekdays)
    return lambda day: any(rule(day) for rule in rules)


@dataclass(frozen=True)
class CronTrigger:
    minutes: FrozenSet[int]
    hours: FrozenSet[int]
    months: FrozenSet[int]
    years: FrozenSet[int]
    day_rule: DayRule

    @classmethod
    def parse(cls, fields_text: str) -> CronTrigger:
        fields = fields_text.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
            )
        minutes, hours, day_of_month, month, day_of_week, year = fields
        # EventBridge demands that exactly one of the two day fields be '?'.
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ScheduleError("cron: exactly one of day-of-month and day-of-week must be '?'")
        day_rule = day_of_week_rule(day_of_week) if day_of_month == "?" else day_of_month_rule(day_of_month)
        return cls(
            minutes=parse_values(minutes, 0, 59, "minutes"),
            hours=parse_values(hours, 0, 23, "hours"),
            months=parse_values(month, 1, 12, "month", _MONTHS),
            years=parse_values(year, 1970, 2199, "year"),
            day_rule=day_rule,
        )

    def _runs_on(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.day_rule(day)

    def next_after(self, moment: datetime) -> Optional[datetime]:
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        times = sorted((hour, minute) for hour in self.hours for minute in self.minutes)
        day = start.date()
        for _ in range(_HORIZON_DAYS):
            if self._runs_on(day):
                for hour, minute in times:
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
            day += timedelta(days=1)
        return None


def expression_text(expression: object) -> str:
    """The expression as EventBridge receives it (`Rate` and `Cron` render themselves)."""
    if isinstance(expression, (Rate, Cron)):
        return str(expression.to_string())
    return str(expression)


def parse_expression(expression: object, start: datetime) -> Trigger:
    """A trigger for a schedule expression; rates count from `start`."""
    text = expression_text(expression).strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value < 1:
            raise ScheduleError(f"'{text}': a rate must be at least 1")
        return RateTrigger(timedelta(seconds=value * _UNIT_SECONDS[unit]), start)
    cron = _CRON.match(text)
    if cron:
        return CronTrigger.parse(cron.group(1))
    raise ScheduleError(f"'{text}' is neither rate(N minutes|hours|days) nor cron(...)")


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
    trigger: Trigger
    next_at: Optional[datetime]


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
            trigger = parse_expression(source.schedule_expression, started)
            text = expression_text(source.schedule_expression)
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
            if schedule.next_at is None or schedule.next_at > now:
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
        upcoming = [schedule.next_at for schedule in self.schedules.values() if schedule.next_at is not None]
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
            when = schedule.next_at.strftime("%Y-%m-%d %H:%M:%S UTC") if schedule.next_at else "never"
            lines.append(f"{schedule.name}: {schedule.expression}, next at {when}")
        return lines
