"""`bench.schema_libraries` without running it (it installs from the package registry):
its workload is what it says, and its section of docs/benchmarks.md is built from what
it measured."""

from __future__ import annotations

from bench import schema_libraries, schema_workload
from chalicelib.schemas import schema_problems, settings_errors


def test_the_workload_is_a_schema_the_app_accepts_and_a_100_kb_document_it_fits() -> None:
    assert schema_problems(schema_workload.SCHEMA) == []
    document = schema_workload.document()
    assert 100 * 1024 <= schema_workload.size(document) < 110 * 1024
    assert settings_errors(schema_workload.SCHEMA, document, ("bench", "workload")) == []
    errors = settings_errors(schema_workload.SCHEMA, schema_workload.bad_document(), ("bench", "workload"))
    assert len(errors) == schema_workload.BAD_CARDS
    assert {error["type"] for error in errors} == {"enum"}


def test_the_chosen_library_is_measured_at_the_version_pinned() -> None:
    requirement = schema_libraries.pinned("jsonschema-rs")
    assert requirement is not None
    assert requirement.startswith("jsonschema-rs==")
    assert schema_libraries.pinned("no-such-library") is None


def test_the_section_says_what_was_measured() -> None:
    validation = {
        "compile": 0.001,
        "valid": [0.0002] * 15,
        "valid_errors": [],
        "bad": [0.0003] * 15,
        "bad_errors": 50,
        "pattern": 0.00002,
        "refuses_bad_schema": True,
        "unchecked_formats": [],
    }
    slow = {**validation, "valid": [0.06] * 15, "unchecked_formats": ["uri"]}
    refused = {**validation, "valid_errors": ["data.location must not be there"]}
    results = [
        schema_libraries.Measured(schema_libraries.CANDIDATES[0], "4.26.0", 3_260_000, 1_040_000, [0.07] * 9, slow),
        schema_libraries.Measured(schema_libraries.CANDIDATES[1], "2.22.3", 240_000, 90_000, [0.002] * 9, refused),
        schema_libraries.Measured(
            schema_libraries.CANDIDATES[2], "0.60.3", 15_220_000, 6_050_000, [0.015] * 9, validation
        ),
    ]
    text = schema_libraries.section(results, runs=9, pattern_length=24)
    assert text.startswith(f"## {schema_libraries.TITLE}\n")
    assert "| `jsonschema` 4.26.0 | `fastjsonschema` 2.22.3 | `jsonschema-rs` 0.60.3 |" in text
    assert "| the same, zipped (as in the Lambda package) | 1.04 MB | 0.09 MB | 6.05 MB |" in text
    assert "no: data.location must not be there" in text
    prose = " ".join(text.split())
    assert "300 times faster than the fastest other library that accepts it" in prose
    assert "without the optional packages that check `uri`" in prose
    assert f"(`{schema_libraries.pinned('jsonschema-rs')}`," in prose
