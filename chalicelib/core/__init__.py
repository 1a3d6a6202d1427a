"""The vocabulary every other part shares: domain errors, identifiers, time, entity tags,
validated field types, structured logs, and the stage's settings."""

from chalicelib.core.clock import epoch_seconds, isoformat, utc_now
from chalicelib.core.errors import DependencyUnavailable, DomainError
from chalicelib.core.stage import StageSettings, get_settings

__all__ = [
    "DependencyUnavailable",
    "DomainError",
    "StageSettings",
    "epoch_seconds",
    "get_settings",
    "isoformat",
    "utc_now",
]
