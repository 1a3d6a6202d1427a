"""The shape of `chalicelib/` that lets a newcomer find their way: a package per concern,
each with a small public face, no class over 200 lines and no module over 400, and every
operation type the worker knows registered in one place."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from chalicelib.web import openapi
from chalicelib.writes import operation_types
from infra.functions import load_app

CHALICELIB = Path(__file__).resolve().parent.parent / "chalicelib"
PACKAGES = {
    "console",
    "core",
    "store",
    "writes",
    "web",
    "access",
    "delivery",
    "upkeep",
    "schemas",
    "editorial",
    "events",
}
# (importing module, module behind another package's face) pairs allowed past the face,
# each with its reason: say why the face cannot serve (a heavier cold start, say).
IMPORTS_PAST_A_FACE: dict[tuple[str, str], str] = {}


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
    assert set(operation["properties"]["type"]["enum"]) == set(operation_types())


def public_names(package: str) -> set[str]:
    face = ast.parse((CHALICELIB / package / "__init__.py").read_text())
    for node in face.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", "") == "__all__" for target in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def test_every_name_a_face_offers_is_there_when_asked_for() -> None:
    """Faces load some names on first use (PEP 562): each name in `__all__` must resolve."""
    for package in sorted(PACKAGES):
        face = importlib.import_module(f"chalicelib.{package}")
        for name in sorted(public_names(package)):
            try:
                getattr(face, name)
            except AttributeError:
                importlib.import_module(f"chalicelib.{package}.{name}")  # a module of the package


def test_packages_use_each_other_through_their_faces() -> None:
    """A module imports another package's names from its `__init__`, and only those its
    `__all__` names; never from the modules behind it (at the top, for type checking, or
    inside a function alike)."""
    faces = {package: public_names(package) for package in PACKAGES}
    for path in modules():
        module = path.relative_to(CHALICELIB)
        own = module.parts[0] if len(module.parts) > 1 else None
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module]
            else:
                continue
            for name in imported:
                parts = name.split(".")
                if parts[0] != "chalicelib" or len(parts) < 2 or parts[1] == own:
                    continue
                if len(parts) > 2:
                    reason = IMPORTS_PAST_A_FACE.get((str(module), name))
                    assert reason, f"{module} imports {name}: import it from chalicelib.{parts[1]}"
                elif isinstance(node, ast.ImportFrom):
                    missing = {alias.name for alias in node.names} - faces[parts[1]]
                    assert not missing, f"{module} imports {sorted(missing)}, not in chalicelib.{parts[1]}.__all__"
