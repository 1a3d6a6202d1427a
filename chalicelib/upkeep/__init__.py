"""Operational tooling: the scheduled backup and queue check, and the redrive of the
dead-letter queue."""

from chalicelib.upkeep.backups import BackupChecker, BackupPolicy, BackupReport, Targets, run_backup_check
from chalicelib.upkeep.redrive import Redrive, RedriveResult

__all__ = ["BackupChecker", "BackupPolicy", "BackupReport", "Redrive", "RedriveResult", "Targets", "run_backup_check"]
