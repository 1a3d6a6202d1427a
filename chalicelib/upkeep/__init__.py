"""Operational tooling: the scheduled backup and queue check, and the redrive of the
dead-letter queue.

The checks, and what they answer, load on first use (PEP 562): the routes that serve
pages never pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names

if TYPE_CHECKING:
    from chalicelib.upkeep.ages import QueueAges
    from chalicelib.upkeep.backups import BackupChecker, BackupPolicy, Targets, run_backup_check
    from chalicelib.upkeep.redrive import Redrive, TimeLeft, time_budget, time_left_in
    from chalicelib.upkeep.reports import BackupReport, RedriveResult

__getattr__ = lazy_names(
    __name__,
    {
        "BackupChecker": "backups",
        "BackupPolicy": "backups",
        "QueueAges": "ages",
        "Targets": "backups",
        "run_backup_check": "backups",
        "Redrive": "redrive",
        "TimeLeft": "redrive",
        "time_budget": "redrive",
        "time_left_in": "redrive",
        "BackupReport": "reports",
        "RedriveResult": "reports",
    },
)


__all__ = [
    "BackupChecker",
    "BackupPolicy",
    "BackupReport",
    "QueueAges",
    "Redrive",
    "RedriveResult",
    "Targets",
    "TimeLeft",
    "run_backup_check",
    "time_budget",
    "time_left_in",
]
