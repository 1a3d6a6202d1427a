"""The Lambda functions Chalice makes of `app.py`, and the names they get when deployed.

Chalice deploys one function per handler: the API handler for every route, one per
built-in authorizer, one per event source (queue, schedule) and per pure Lambda function.
Each gets its own IAM role (see `infra.policies`) and its own log group.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, List

from infra.resources import PROJECT_DIR, StageResources

API_HANDLER = "api_handler"


def lambda_functions(app: Any) -> List[str]:
    """The names Chalice gives the app's functions (as in `lambda_functions` of config.json)."""
    names: List[str] = [API_HANDLER] if app.routes else []
    names += [auth.name for auth in app.builtin_auth_handlers]
    names += [source.name for source in app.event_sources]
    names += [function.name for function in app.pure_lambda_functions]
    return names


def deployed_name(app_name: str, stage: str, function: str) -> str:
    """The Lambda function's name in AWS, as `chalice deploy` names it; the packaged
    template uses the same names, so log groups and dashboards do not depend on the path."""
    if function == API_HANDLER:
        return f"{app_name}-{stage}"
    return f"{app_name}-{stage}-{function}"


def log_group_name(app_name: str, stage: str, function: str) -> str:
    return f"/aws/lambda/{deployed_name(app_name, stage, function)}"


# The stage whose environment app.py is imported with when the caller set none.
SHAPE_STAGE = "local"


def load_app() -> Any:
    """The Chalice app of `app.py` (imported once per process), to see its shape: its
    functions and event sources, which are the same in every stage.

    app.py reads some settings when it is imported (the write queue's name) and refuses
    to load without them. As Chalice does, the `local` stage's variables from
    `.chalice/config.json` are applied first, each only where the environment has none:
    a process that set a stage's environment keeps it."""
    for name, value in StageResources.for_stage(SHAPE_STAGE).environment().items():
        os.environ.setdefault(name, value)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    return importlib.import_module("app").app
