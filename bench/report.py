"""Shared by the benchmarks: the machine they ran on, one text table, and replacing one
section of docs/benchmarks.md (the other sections belong to other benchmarks)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import List, Sequence

from infra.resources import PROJECT_DIR

DOCUMENT = PROJECT_DIR / "docs" / "benchmarks.md"
INTRO = "# Benchmarks\n\nFigures measured on one machine, with the commands that rerun them.\n\n"


def machine() -> str:
    """The date, the commit and the machine, for a section's first line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{stamp}, commit {commit or '?'}; {cpu}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; `align` has one letter per column, l or r (default l)."""
    marks = ["--:" if (align[i : i + 1] == "r") else "---" for i in range(len(headers))]
    lines: List[str] = ["| " + " | ".join(headers) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def with_section(document: str, title: str, text: str) -> str:
    """The document with its `## title` section replaced by `text` (which starts with that
    heading), or `text` added at the end; every other section is left as it was."""
    heading = f"## {title}"
    found = re.search(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", document, re.S | re.M)
    body = text.rstrip() + "\n"
    if found:
        rest = document[found.end() :]
        return document[: found.start()] + body + ("\n" + rest if rest else "")
    head = document.rstrip() if document.strip() else "# Benchmarks"
    return f"{head}\n\n{body}"


def replace_section(title: str, text: str, document: Path = DOCUMENT) -> None:
    """Writes `text` in place of the document's `## title` section, or at its end."""
    current = document.read_text() if document.exists() else INTRO
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(with_section(current, title, text))
