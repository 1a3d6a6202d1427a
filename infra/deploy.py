"""The release commands' work: provisioning for `chalice deploy`, running Chalice with
the stage's environment, and the gateway responses Chalice cannot set.

Chalice creates functions, roles, the API and event sources, but no table, queue or log
group. `provision_stage` creates or updates those (running it again changes nothing),
then `chalice deploy` can wire the worker to a queue that exists.

app.py reads the write queue's name when it is imported, and refuses to load without
it. Chalice applies the stage's environment variables from `.chalice/config.json` before
it imports app.py; Chalice runs here with them set as well, so whatever it runs sees the
stage's own names, and the worker's event source names the stage's own queue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from botocore.exceptions import ClientError

from infra.functions import log_group_name
from infra.gateway_responses import GATEWAY_ERRORS, mapping_template
from infra.policies import LOCAL_STAGE
from infra.resources import LOG_RETENTION_DAYS, PROJECT_DIR, Provisioned, StageResources, provision


class NotDeployable(Exception):
    """The stage only runs locally."""


def deployable(resources: StageResources) -> StageResources:
    if resources.stage == LOCAL_STAGE:
        raise NotDeployable(f"stage '{LOCAL_STAGE}' runs only on this machine (make run); choose dev or prod")
    return resources


def provision_stage(session: Any, resources: StageResources, app_name: str, functions: Sequence[str]) -> Provisioned:
    """The stage's table, queues and a log group per function, created or brought in line."""
    provisioned = provision(session, resources)
    logs = session.client("logs")
    for function in functions:
        _ensure_log_group(logs, log_group_name(app_name, resources.stage, function), LOG_RETENTION_DAYS)
    return provisioned


def _ensure_log_group(logs: Any, name: str, retention_days: int) -> None:
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    current = next((group for group in groups if group["logGroupName"] == name), None)
    if current is None:
        try:
            logs.create_log_group(logGroupName=name)
        except ClientError as exc:  # made meanwhile by a deploy running in parallel
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
    if current is None or current.get("retentionInDays") != retention_days:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)


def deployed_rest_api(stage: str, project_dir: Path = PROJECT_DIR) -> Optional[str]:
    """The id of the REST API `chalice deploy` made for the stage (None before the first)."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not path.exists():
        return None
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    return None


def apply_gateway_responses(apigateway: Any, rest_api_id: str, api_stage: str) -> List[str]:
    """Chalice cannot set gateway responses: sets them on the deployed REST API, and
    deploys its stage again if one changed. Answers the response types it changed."""
    listed = apigateway.get_gateway_responses(restApiId=rest_api_id, limit=500)["items"]
    current = {item["responseType"]: item for item in listed}
    changed: List[str] = []
    for error in GATEWAY_ERRORS:
        wanted: Dict[str, Any] = {"responseTemplates": {"application/json": mapping_template(error)}}
        if error.status is not None:
            wanted["statusCode"] = str(error.status)
        have = current.get(error.response_type, {})
        if not have.get("defaultResponse", False) and all(have.get(key) == value for key, value in wanted.items()):
            continue
        apigateway.put_gateway_response(restApiId=rest_api_id, responseType=error.response_type, **wanted)
        changed.append(error.response_type)
    if changed:
        # A REST API's stage serves a snapshot: the responses apply once it is deployed again.
        apigateway.create_deployment(restApiId=rest_api_id, stageName=api_stage, description="gateway responses")
    return changed


def chalice_environment(resources: StageResources, environ: Mapping[str, str]) -> Dict[str, str]:
    """`environ` with the stage's variables, as app.py sees them in the stage's Lambda."""
    return {**environ, **resources.environment()}


def chalice_executable() -> str:
    return str(Path(sys.executable).with_name("chalice"))


def run_chalice(
    resources: StageResources,
    arguments: Sequence[str],
    environ: Optional[Mapping[str, str]] = None,
    project_dir: Path = PROJECT_DIR,
) -> int:
    """Runs `chalice <arguments> --stage <stage>` in the project; answers its exit code."""
    command: List[str] = [chalice_executable(), "--project-dir", str(project_dir), *arguments]
    env = chalice_environment(resources, os.environ if environ is None else environ)
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 (our own argument list)
