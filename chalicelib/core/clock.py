"""Time as the service writes it: aware UTC datetimes, ISO 8601 with milliseconds and `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_seconds(moment: datetime) -> int:
    """What DynamoDB's TTL attribute holds."""
    return int(moment.timestamp())
