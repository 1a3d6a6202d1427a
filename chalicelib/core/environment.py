"""Settings the app's shape depends on, read when app.py is imported (so fixed when it is
packaged). Apart from the stage's validated settings (`chalicelib.core.stage`), which
load with the first request: importing app.py builds no model."""

from __future__ import annotations

import os
from typing import Mapping


class MissingSetting(RuntimeError):
    """A setting app.py needs when it is imported is not in the environment."""


def required_setting(name: str, why: str, environ: Mapping[str, str] = os.environ) -> str:
    """The value of a setting the app's shape depends on: never a silent default, which
    could wire a stage to another stage's resources."""
    value = environ.get(name, "").strip()
    if not value:
        raise MissingSetting(
            f"{name} is not set: {why}. Each stage sets it in .chalice/config.json; Chalice "
            f"(chalice deploy/package/local --stage STAGE) applies the stage's variables before it "
            f"imports app.py. Importing app.py any other way, set {name} first."
        )
    return value
