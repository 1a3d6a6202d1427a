"""The shape of `chalicelib/` that lets a newcomer find their way: a package per concern,
each with a small public face, no class over 200 lines and no module over 400, and every
operation type the worker knows registered in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.web import openapi
from chalicelib.writes import operation_types
from infra.functions import load_app

CHALICELIB = Path(__file__).resolve().parent.parent / "chalicelib"
PACKAGES = {"core", "store", "writes", "web", "access", "delivery", "upkeep", "schemas", "editorial"}


def modules() -> list[Path]:
    return sorted(CHALICELIB.rglob("*.py"))


def test_chalicelib_is_a_package_per_concern_each_naming_what_others_use() -> None:
    found = {path.name for path in CHALICELIB.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert found == PACKAGES
    for package in PACKAGES:
        face = ast.parse((CHALICELIB / package / "__init__.py").read_text())
        assert ast.get_docstring(face), f"{package}/__init__.py says what the package is for"
        names = [node for node in face.body if isinstance(node, ast.Assign) and "__all__" in ast.unparse(node)]
        assert names, f"{package}/__init__.py names its public face in __all__"


def test_no_module_over_400_lines_and_no_class_over_200() -> None:
    for path in modules():
        source = path.read_text()
        assert source.count("\n") <= 400, f"{path.relative_to(CHALICELIB)} has {source.count(chr(10))} lines"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 200, f"{path.relative_to(CHALICELIB)}: class {node.name} has {length} lines"


def test_every_module_opens_with_its_job() -> None:
    for path in modules():
        if path.read_text().strip():
            assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(CHALICELIB)} has no docstring"


def test_the_operation_types_recorded_are_the_registered_ones() -> None:
    # The worker records the registered name of what it applies; the document lists them.
    operation = openapi.document(load_app())["components"]["schemas"]["Operation"]
    assert set(operation["properties"]["type"]["anyOf"][0]["enum"]) == set(operation_types())
