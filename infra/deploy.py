"""The release commands' work: provisioning for `chalice deploy`, running Chalice with
the stage's environment, and what Chalice cannot set on what it deployed.

Chalice creates functions, roles, the API and event sources, but no table, queue, log
group, alarm or dashboard. `provision_stage` creates or updates those (running it again
changes nothing), then `chalice deploy` can wire the worker to a queue that exists. After
it, the REST API gets its gateway responses, its name, tracing and throttling
(`apply_api_settings`), and the worker's event source its maximum concurrency
(`apply_worker_cap`): Chalice has no setting for any of them.

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
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from botocore.exceptions import ClientError

from infra.functions import log_group_name
from infra.gateway_responses import GATEWAY_ERRORS, mapping_template
from infra.monitoring import alarms, dashboard_text
from infra.operations import PATCH_PATHS, MethodSetting, StageOperations
from infra.policies import LOCAL_STAGE
from infra.resources import LOG_RETENTION_DAYS, PROJECT_DIR, Provisioned, StageResources, provision


class NotDeployable(Exception):
    """The stage only runs locally."""


def deployable(resources: StageResources) -> StageResources:
    if resources.stage == LOCAL_STAGE:
        raise NotDeployable(f"stage '{LOCAL_STAGE}' runs only on this machine (make run); choose dev or prod")
    return resources


def provision_stage(session: Any, resources: StageResources, app_name: str, functions: Sequence[str]) -> Provisioned:
    """The stage's table, queues, a log group per function, and its alarms, the topic they
    notify and its dashboard, created or brought in line."""
    provisioned = provision(session, resources)
    logs = session.client("logs")
    for function in functions:
        _ensure_log_group(logs, log_group_name(app_name, resources.stage, function), LOG_RETENTION_DAYS)
    operations = StageOperations.for_stage(resources)
    topic_arn = _ensure_topic(session.client("sns"), operations.topic_name)
    cloudwatch = session.client("cloudwatch")
    arns = _ensure_alarms(cloudwatch, operations, topic_arn)
    _ensure_dashboard(cloudwatch, operations, session.region_name or "", arns)
    return replace(provisioned, alarm_topic_arn=topic_arn, dashboard_name=operations.dashboard_name)


def _ensure_topic(sns: Any, name: str) -> str:
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if str(topic["TopicArn"]).split(":")[-1] == name:
                return str(topic["TopicArn"])
    return str(sns.create_topic(Name=name)["TopicArn"])


def _ensure_alarms(cloudwatch: Any, operations: StageOperations, topic_arn: str) -> Dict[str, str]:
    """Puts each alarm that is missing or differs; answers every alarm's ARN by name.
    An alarm the code no longer defines is left alone (provisioning deletes nothing)."""
    prefix = f"{operations.app_name}-{operations.stage}-"

    def current() -> Dict[str, Dict[str, Any]]:
        pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])
        return {alarm["AlarmName"]: alarm for page in pages for alarm in page.get("MetricAlarms", [])}

    found = current()
    changed = False
    for alarm in alarms(operations):
        wanted = alarm.arguments(operations, topic_arn)
        if _alarm_differs(found.get(wanted["AlarmName"]), wanted):
            cloudwatch.put_metric_alarm(**wanted)
            changed = True
    found = current() if changed else found
    return {name: str(alarm["AlarmArn"]) for name, alarm in found.items()}


def _alarm_differs(current: Optional[Dict[str, Any]], wanted: Dict[str, Any]) -> bool:
    if current is None:
        return True
    for key, value in wanted.items():
        have = current.get(key)
        if key == "Threshold":
            same = have is not None and float(have) == float(value)
        elif key == "Dimensions":
            same = sorted((d["Name"], d["Value"]) for d in have or []) == sorted((d["Name"], d["Value"]) for d in value)
        elif isinstance(value, list):
            same = sorted(have or []) == sorted(value)
        else:
            same = have == value
        if not same:
            return True
    return False


def _ensure_dashboard(cloudwatch: Any, operations: StageOperations, region: str, alarm_arns: Dict[str, str]) -> None:
    body = dashboard_text(operations, region, lambda name: alarm_arns.get(name, name))
    try:
        current = cloudwatch.get_dashboard(DashboardName=operations.dashboard_name)["DashboardBody"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        current = None
    if current is None or json.loads(current) != json.loads(body):
        cloudwatch.put_dashboard(DashboardName=operations.dashboard_name, DashboardBody=body)


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


def apply_api_settings(
    apigateway: Any, rest_api_id: str, operations: StageOperations, settings: Sequence[MethodSetting]
) -> List[str]:
    """The REST API's name (one per stage: API Gateway's metrics are keyed by it), and its
    stage's tracing and method settings (throttling, detailed metrics), which Chalice
    cannot set. A stage's settings apply at once, with no new deployment. Answers what it
    changed; `chalice deploy` puts the API's name back, so each release sets it again."""
    changed: List[str] = []
    if apigateway.get_rest_api(restApiId=rest_api_id).get("name") != operations.api_name:
        apigateway.update_rest_api(
            restApiId=rest_api_id, patchOperations=[{"op": "replace", "path": "/name", "value": operations.api_name}]
        )
        changed.append(f"name {operations.api_name}")
    stage = apigateway.get_stage(restApiId=rest_api_id, stageName=operations.api_stage)
    patches: List[Dict[str, str]] = []
    if not stage.get("tracingEnabled"):
        patches.append({"op": "replace", "path": "/tracingEnabled", "value": "true"})
        changed.append("tracing")
    current = stage.get("methodSettings", {})
    for setting in settings:
        have = current.get(setting.key, {})
        differing = [field for field, value in setting.values().items() if have.get(field) != value]
        for field in differing:
            value = setting.values()[field]
            text = str(value).lower() if isinstance(value, bool) else str(value)
            path = f"{setting.resource_path}/{setting.method}/{PATCH_PATHS[field]}"
            patches.append({"op": "replace", "path": path, "value": text})
        if differing:
            changed.append(f"{setting.method} {setting.path}")
    for start in range(0, len(patches), PATCHES_PER_CALL):
        apigateway.update_stage(
            restApiId=rest_api_id,
            stageName=operations.api_stage,
            patchOperations=patches[start : start + PATCHES_PER_CALL],
        )
    return changed


# UpdateStage takes a list of patches; a few calls of this many keep each request small.
PATCHES_PER_CALL = 50


def apply_worker_cap(lambda_client: Any, function_name: str, queue_arn: str, cap: int) -> bool:
    """The worker's event source's maximum concurrency (Chalice sets only the function's
    reserved concurrency): Lambda's poller then leaves what the cap cannot take waiting in
    the queue. Answers whether it changed one."""
    changed = False
    mappings = lambda_client.list_event_source_mappings(FunctionName=function_name, EventSourceArn=queue_arn)
    for mapping in mappings.get("EventSourceMappings", []):
        if (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") != cap:
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"], ScalingConfig={"MaximumConcurrency": cap})
            changed = True
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
