"""Compiled bytecode in the deployment package, so a cold start does not compile it.

Lambda runs code from a read-only directory: without `__pycache__` in the package, every
cold start compiles each module it imports (pydantic's included) from source, and
cannot keep the result. Chalice ships sources only, so the package step adds the
bytecode. It is written in unchecked-hash mode (PEP 552): Python uses it without
comparing timestamps, which a zip's two-second resolution would break.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

# Bytecode is only valid for the interpreter version that wrote it.
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def add_bytecode(zip_path: Path) -> int:
    """Adds `__pycache__/*.pyc` for every module in the zip; answers how many."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as package:
            package.extractall(root)
        compiled_ok = compileall.compile_dir(
            str(root), quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        if not compiled_ok:
            raise RuntimeError(f"a module in {zip_path} does not compile")
        pycs = sorted(root.rglob("*.pyc"))
        rewritten = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info, source.read(info))
            for pyc in pycs:
                # Fixed times and modes, as Chalice writes its entries: the same code
                # makes the same package.
                info = zipfile.ZipInfo(pyc.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, pyc.read_bytes())
        os.replace(rewritten, zip_path)
    return len(pycs)
