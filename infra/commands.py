"""What each `python -m infra` command does, with its output for the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import boto3

from infra import policies
from infra.deploy import (
    NotDeployable,
    apply_api_settings,
    apply_gateway_responses,
    apply_worker_cap,
    deployable,
    deployed_rest_api,
    provision_stage,
    run_chalice,
)
from infra.functions import deployed_name, lambda_functions, load_app, log_group_name
from infra.operations import StageOperations, app_routes, method_settings
from infra.package import BUILD_DIR, PackagingFailed, lint_stage
from infra.package import package as package_stage
from infra.resources import PROJECT_DIR, WORKER_FUNCTION, Provisioned, StageResources


class CommandError(Exception):
    """A command cannot do what it was asked; the message says why and what to do."""


def _config() -> Dict[str, Any]:
    config: Dict[str, Any] = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return config


def _stage_resources(stage: str) -> StageResources:
    try:
        return deployable(StageResources.for_stage(stage))
    except (ValueError, NotDeployable) as exc:
        raise CommandError(str(exc)) from exc


def _stages(given: Optional[Sequence[str]]) -> List[str]:
    stages = list(given) if given else policies.deployable_stages(_config())
    for stage in stages:
        _stage_resources(stage)
    return stages


def _generate(stages: Sequence[str]) -> policies.PolicyFiles:
    try:
        expected, notes = policies.generate(stages, lambda_functions(load_app()))
    except policies.MissingDeclaration as exc:
        raise CommandError(str(exc)) from exc
    for note in notes:
        print(f"note: {note}")
    return expected


def policy(stages: Optional[Sequence[str]], check: bool) -> int:
    chosen = _stages(stages)
    expected = _generate(chosen)
    if check:
        problems = policies.differences(chosen, expected)
        for problem in problems:
            print(f"policy: {problem}")
        if problems:
            print("policy: run `make policy` and commit .chalice/ (policies come from infra/permissions.py)")
            return 1
        print(f"policy: .chalice/ matches infra/permissions.py for {', '.join(chosen)}")
        return 0
    changed = policies.write(chosen, expected)
    for path in changed:
        print(f"policy: wrote {path.relative_to(PROJECT_DIR)}")
    if not changed:
        print(f"policy: already up to date for {', '.join(chosen)}")
    return 0


def package(stage: str, out: Optional[Path]) -> int:
    resources = _stage_resources(stage)
    try:
        template = package_stage(resources, out or BUILD_DIR / stage)
    except PackagingFailed as exc:
        raise CommandError(str(exc)) from exc
    print(f"package: {template} (deploy it with `sam deploy` or `aws cloudformation package`/`deploy`)")
    return 0


def lint_templates(stages: Optional[Sequence[str]], out: Optional[Path]) -> int:
    failed = False
    for stage in _stages(stages):
        try:
            results = lint_stage(_stage_resources(stage), (out or BUILD_DIR) / stage)
        except PackagingFailed as exc:
            raise CommandError(str(exc)) from exc
        for result in results:
            verdict = "failed" if result.failed else "clean"
            print(f"cfn-lint {result.path}: {verdict}")
            if result.output:
                print(result.output)
            failed = failed or result.failed
    return 1 if failed else 0


def provision(stage: str) -> int:
    _provision(stage)
    return 0


def _provision(stage: str) -> Provisioned:
    resources = _stage_resources(stage)
    app = load_app()
    functions = lambda_functions(app)
    provisioned = provision_stage(boto3.session.Session(), resources, app.app_name, functions)
    print(f"table        {provisioned.table_name}")
    print(f"queue        {provisioned.queue_url}")
    print(f"dead letters {provisioned.dead_letter_queue_url}")
    for function in functions:
        print(f"log group    {log_group_name(app.app_name, stage, function)}")
    print(f"alarms       notify {provisioned.alarm_topic_arn} (subscribers: README, 'Alarms')")
    print(f"dashboard    {provisioned.dashboard_name}")
    return provisioned


def deploy(stage: str) -> int:
    resources = _stage_resources(stage)
    if policy([stage], check=True) != 0:
        return 1
    provisioned = _provision(stage)
    status = run_chalice(resources, ["deploy", "--stage", stage])
    if status != 0:
        return status
    rest_api_id = deployed_rest_api(stage)
    if rest_api_id is None:
        raise CommandError(f"chalice deploy left no REST API in .chalice/deployed/{stage}.json")
    operations = StageOperations.for_stage(resources)
    apigateway = boto3.client("apigateway")
    changed = apply_gateway_responses(apigateway, rest_api_id, operations.api_stage)
    print(f"gateway responses: {', '.join(changed) if changed else 'already set'}")
    settings = method_settings(operations, app_routes(load_app()))
    changed = apply_api_settings(apigateway, rest_api_id, operations, settings)
    print(f"API settings: {', '.join(changed) if changed else 'already set'} ({len(settings)} method settings)")
    worker = deployed_name(operations.app_name, stage, WORKER_FUNCTION)
    cap = operations.worker_concurrency
    capped = apply_worker_cap(boto3.client("lambda"), worker, provisioned.queue_arn, cap)
    print(f"worker cap: {cap} at once ({'set' if capped else 'already set'})")
    return 0
