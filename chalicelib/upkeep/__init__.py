"""Operational tooling: the scheduled backup and queue check, and the redrive of the
dead-letter queue."""

from chalicelib.upkeep.backups import BackupChecker, BackupPolicy, BackupReport, Targets, run_backup_check
from chalicelib.upkeep.redrive import Redrive, RedriveResult, TimeLeft, time_budget, time_left_in

__all__ = [
    "BackupChecker",
    "BackupPolicy",
    "BackupReport",
    "Redrive",
    "RedriveResult",
    "Targets",
    "TimeLeft",
    "run_backup_check",
    "time_budget",
    "time_left_in",
]
