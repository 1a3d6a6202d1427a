"""`python -m bench.schema_libraries` (`make bench-schemas`): the JSON Schema libraries a
layout's settings could be checked with, measured the same way; the figures replace the
section "Settings schemas: choosing the JSON Schema library" of docs/benchmarks.md.

Each candidate is installed by pip (the package registry must be reachable) into a
temporary directory of its own, with what it depends on and its bytecode, as a deployment
package would hold it; jsonschema-rs at the version requirements.txt pins. Each is then
measured in fresh interpreters of this virtualenv with that directory first on the path:
the room it takes, its import, and its validation of `bench.schema_workload`'s documents.
Not part of `make test` or `make bench`: it downloads (under a minute, the downloads aside)."""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench import schema_workload
from bench.report import machine, replace_section, table
from infra.resources import PROJECT_DIR

TITLE = "Settings schemas: choosing the JSON Schema library"
CHOSEN = "jsonschema-rs"


@dataclass(frozen=True)
class Candidate:
    name: str  # on the registry
    module: str


CANDIDATES = [
    Candidate("jsonschema", "jsonschema"),
    Candidate("fastjsonschema", "fastjsonschema"),
    Candidate("jsonschema-rs", "jsonschema_rs"),
]

# Run in a fresh interpreter: argv is the install directory, the candidate's module, what
# to do ("import" or "validate") and the pattern's length. It imports first what the app
# has loaded before any write validates, then times the import of the candidate alone.
PROBE = r"""
import json, sys, time
target, module, task, pattern_length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, target)
import pydantic, chalice, re, decimal  # noqa: the app's own, already loaded

started = time.perf_counter()
library = __import__(module)
imported = time.perf_counter() - started
if task == "import":
    print(json.dumps({"import": imported}))
    sys.exit(0)

from bench.schema_workload import BAD_SCHEMA, PATTERN_SCHEMA, SCHEMA, document, bad_document


def compiler(schema):
    if module == "jsonschema":
        cls = library.Draft202012Validator
        cls.check_schema(schema)
        checker = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return lambda value: [error.message for error in checker.iter_errors(value)]
    if module == "fastjsonschema":
        validate = library.compile(schema)

        def first_error(value):  # it stops at the first error
            try:
                validate(value)
            except library.JsonSchemaValueException as error:
                return [error.message]
            return []

        return first_error
    # As chalicelib.schemas compiles it: formats asserted, linear-time patterns.
    checker = library.Draft202012Validator(
        schema, validate_formats=True, pattern_options=library.RegexOptions()
    )
    return lambda value: [error.message for error in checker.iter_errors(value)]


def timed(action, runs):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return times, result


def formats(node):
    if isinstance(node, dict):
        return {node["format"]} if isinstance(node.get("format"), str) else set().union(*map(formats, node.values()))
    return set().union(*map(formats, node)) if isinstance(node, list) else set()


unchecked = []
if module == "jsonschema":  # its optional packages decide which formats it checks
    unchecked = sorted(formats(SCHEMA) - set(library.Draft202012Validator.FORMAT_CHECKER.checkers))
good, bad = document(), bad_document()
compile_times, check = timed(lambda: compiler(SCHEMA), 1)
valid_times, valid_errors = timed(lambda: check(good), 15)
bad_times, bad_errors = timed(lambda: check(bad), 15)
pattern_check = compiler(PATTERN_SCHEMA)
pattern_times, _ = timed(lambda: pattern_check("a" * pattern_length + "!"), 1)
try:
    compiler(BAD_SCHEMA)
    refuses_bad_schema = False
except Exception:
    refuses_bad_schema = True
print(json.dumps({
    "compile": compile_times[0],
    "valid": valid_times,
    "valid_errors": valid_errors[:3],
    "bad": bad_times,
    "bad_errors": len(bad_errors),
    "pattern": pattern_times[0],
    "refuses_bad_schema": refuses_bad_schema,
    "unchecked_formats": unchecked,
}))
"""


@dataclass
class Measured:
    candidate: Candidate
    version: str
    unzipped: int
    zipped: int
    imports: List[float]
    validation: Dict[str, Any]


def pinned(name: str) -> Optional[str]:
    """The requirement requirements.txt names for `name` (`jsonschema-rs==0.60.3`), if any."""
    for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement.split("=")[0].split("<")[0].split(">")[0].strip().lower() == name:
            return requirement
    return None


def install(candidate: Candidate, into: Path) -> str:
    """pip installs the candidate and its dependencies into `into`; answers its version."""
    spec = pinned(candidate.name) or candidate.name
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(into), spec]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"bench: pip could not install {spec} (is the registry reachable?)\n{done.stderr}")
    for info in into.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].rpartition("-")
        if name.lower().replace("_", "-") == candidate.name:
            return version
    raise SystemExit(f"bench: {spec} installed no {candidate.name} distribution")


def room(folder: Path) -> tuple[int, int]:
    """Bytes the folder's files take, unzipped and as a deflated zip (as a package)."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return sum(path.stat().st_size for path in files), len(buffer.getvalue())


def probe(folder: Path, candidate: Candidate, task: str, pattern_length: int) -> Dict[str, Any]:
    command = [sys.executable, "-c", PROBE, str(folder), candidate.module, task, str(pattern_length)]
    done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"bench: measuring {candidate.name} failed\n{done.stderr}")
    found: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def measure(candidate: Candidate, runs: int, pattern_length: int) -> Measured:
    with tempfile.TemporaryDirectory(prefix=f"mm-{candidate.name}-") as name:
        folder = Path(name)
        version = install(candidate, folder)
        unzipped, zipped = room(folder)
        imports = [probe(folder, candidate, "import", pattern_length)["import"] for _ in range(runs)]
        validation = probe(folder, candidate, "validate", pattern_length)
    return Measured(candidate, version, unzipped, zipped, imports, validation)


def milliseconds(seconds: float) -> str:
    value = seconds * 1000
    if value >= 10_000:
        return f"{seconds:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.2f} ms" if value >= 0.1 else f"{value:.3f} ms"


def spread(times: Sequence[float]) -> str:
    """Median, and the middle half's range."""
    ordered = sorted(times)
    low, high = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    return f"{milliseconds(statistics.median(ordered))} ({milliseconds(low)} to {milliseconds(high)})"


def section(results: Sequence[Measured], runs: int, pattern_length: int) -> str:
    mb = 1_000_000
    good = schema_workload.document()
    headers = [""] + [f"`{result.candidate.name}` {result.version}" for result in results]

    def row(label: str, cells: Sequence[str]) -> List[str]:
        return [label, *cells]

    rows = [
        row("installed, with its dependencies and bytecode", [f"{r.unzipped / mb:.2f} MB" for r in results]),
        row("the same, zipped (as in the Lambda package)", [f"{r.zipped / mb:.2f} MB" for r in results]),
        row(f"import, on top of the app's own (median of {runs})", [spread(r.imports) for r in results]),
        row("check and compile the schema", [milliseconds(r.validation["compile"]) for r in results]),
        row(
            "validate the valid document (median of 15)",
            [
                spread(r.validation["valid"]) + (" (refused it)" if r.validation["valid_errors"] else "")
                for r in results
            ],
        ),
        row(
            "reject the bad one (median of 15), errors found",
            [f"{spread(r.validation['bad'])}, {r.validation['bad_errors']}" for r in results],
        ),
        row(
            f"`pattern: ^(a+)+$` against {pattern_length} characters",
            [milliseconds(r.validation["pattern"]) for r in results],
        ),
        row(
            "accepts the valid document (Draft 2020-12)",
            [
                "yes" if not r.validation["valid_errors"] else "no: " + _short(r.validation["valid_errors"][0])
                for r in results
            ],
        ),
        row(
            "refuses a schema that is not one", ["yes" if r.validation["refuses_bad_schema"] else "no" for r in results]
        ),
    ]
    chosen = next(result for result in results if result.candidate.name == CHOSEN)
    others = [result for result in results if result is not chosen and not result.validation["valid_errors"]]
    fastest_other = min((statistics.median(r.validation["valid"]) for r in others), default=None)
    ratio = statistics.median(chosen.validation["valid"])
    faster = (
        f", and it validates the valid document {fastest_other / ratio:,.0f} times faster than the fastest "
        "other library that accepts it"
        if fastest_other
        else ""
    )
    unchecked = sorted({name for r in results for name in r.validation["unchecked_formats"]})
    by_jsonschema = (
        f" (here without the optional packages that check {', '.join(f'`{name}`' for name in unchecked)})"
        if unchecked
        else ""
    )
    method = f"""Each library is installed by pip into a directory of its own, with its dependencies and
        bytecode (as the deployment package holds them), and measured in fresh interpreters of this
        project's virtualenv with that directory first on the path; `jsonschema-rs` at the version
        `requirements.txt` pins. The schema (`bench/schema_workload.py`): JSON Schema 2020-12,
        {len(schema_workload.SCHEMA["properties"])} properties, {len(schema_workload.DEFS)} `$defs` (one
        recursive), enums, bounds, patterns and formats, a `prefixItems` tuple; the document:
        {schema_workload.size(good) / 1000:.0f} KB of settings nested {schema_workload.DEPTH} levels deep;
        the bad one has {schema_workload.BAD_CARDS} errors. Each library is used as it would be here:
        `jsonschema` with its format checker{by_jsonschema}, all errors collected; `fastjsonschema`
        compiled to code (it stops at the first error); `jsonschema-rs` as `chalicelib.schemas` compiles
        it (formats asserted, the linear-time `regex` engine). Times are medians, with the middle half's
        range. A backtracking engine takes twice as long on `^(a+)+$` for each character more
        (`--pattern-length`)."""
    unmeasured = """Not measured: a remote `$ref` is fetched by default by `jsonschema` and `fastjsonschema`
        (refusable, but only noticed while validating); `jsonschema-rs` here runs with retrieval off, so
        one is refused when the schema is compiled, at upload."""
    choice = f"""`jsonschema-rs` is the choice: it is the only one whose regular expressions cannot hang (the
        Rust `regex` engine runs in linear time; patterns that would need backtracking are refused at
        upload), it refuses a remote `$ref` when the schema is uploaded rather than when some document
        happens to reach it{faster}. Its price is the package (the zipped size above; "Package size"
        has the whole package against its budget). It costs nothing at cold start:
        `chalicelib.schemas` imports it on the first write that validates, and a compiled validator is
        kept per schema version (site, layout, createdAt, version; the 256 most recently used) for the
        life of the process. It is pinned exactly (`{pinned(CHOSEN)}`, the newest that `schemathesis`, a
        test tool, accepts) because it is pre-1.0 and releases often; an upgrade goes through the test
        suite on purpose."""
    return "\n\n".join(
        [
            f"## {TITLE}",
            f"`python -m bench.schema_libraries` (`make bench-schemas`), {machine()}.",
            paragraph(method),
            table(headers, rows, "l" + "r" * len(results)),
            paragraph(unmeasured),
            paragraph(choice),
        ]
    )


def paragraph(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=90, break_on_hyphens=False, break_long_words=False)


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= 60 else message[:59] + "…"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.schema_libraries", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters timing each import (default 9)")
    parser.add_argument(
        "--pattern-length", type=int, default=24, help="characters of the backtracking pattern's input (default 24)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = parser.parse_args(argv)
    results = []
    for candidate in CANDIDATES:
        print(f"bench: {candidate.name}...", file=sys.stderr, flush=True)
        results.append(measure(candidate, args.runs, args.pattern_length))
    text = section(results, args.runs, args.pattern_length)
    print(text)
    if not args.no_write:
        replace_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
