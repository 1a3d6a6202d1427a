"""What the operational routes answer: the backup check's report and a redrive's result.
Kept apart from the checks themselves, which load only when a check or a redrive runs."""

from __future__ import annotations

from typing import List, Optional

from chalicelib.core import Model
from chalicelib.store import CheckResult


class BackupReport(Model):
    """The latest run in full, and the recent runs newest first."""

    latest: Optional[CheckResult]
    history: List[CheckResult]


class RedriveResult(Model):
    moved: int
    failed: int
    # Messages still in the dead-letter queue when the redrive stopped (approximate).
    remaining: int
