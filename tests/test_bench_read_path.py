"""The benchmarks' arithmetic and bookkeeping (the benchmark itself is `make bench-read`)."""

from __future__ import annotations

from bench.read_path import percentile
from bench.report import with_section

NEW = "## Read path\n\nnew figures\n"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_the_read_path_section_is_added_to_a_missing_or_empty_document() -> None:
    assert with_section("", "Read path", NEW) == "# Benchmarks\n\n## Read path\n\nnew figures\n"


def test_only_the_read_path_section_is_replaced() -> None:
    document = (
        "# Benchmarks\n\nIntro.\n\n## Writes\n\nwrite figures\n\n"
        "## Read path\n\nold figures\n| a | b |\n\n## Worker\n\nworker figures\n"
    )
    assert with_section(document, "Read path", NEW) == (
        "# Benchmarks\n\nIntro.\n\n## Writes\n\nwrite figures\n\n"
        "## Read path\n\nnew figures\n\n## Worker\n\nworker figures\n"
    )


def test_a_read_path_section_at_the_end_is_replaced_and_others_kept() -> None:
    document = "# Benchmarks\n\n## Writes\n\nw\n\n## Read path\n\nold\n"
    assert with_section(document, "Read path", NEW) == "# Benchmarks\n\n## Writes\n\nw\n\n## Read path\n\nnew figures\n"
    appended = with_section("# Benchmarks\n\n## Writes\n\nw\n", "Read path", NEW)
    assert appended == "# Benchmarks\n\n## Writes\n\nw\n\n## Read path\n\nnew figures\n"
