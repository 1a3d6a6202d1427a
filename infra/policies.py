"""IAM policies generated from `infra.permissions`, one per Lambda function and stage.

`chalice deploy` reads them from `.chalice/policy-<stage>-<function>.json`, wired into
`.chalice/config.json` (`autogen_policy: false`, an `iam_policy_file` per function), so
each function gets its own role. The files name the stage's resources by name in any
account and region (`arn:aws:dynamodb:*:*:table/<table>`): the account is not known when
they are committed. The packaged template carries the same statements with references
to the stack's own resources instead (`infra.template`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Protocol, Sequence, Tuple

from infra.functions import log_group_name
from infra.permissions import LOGS, PERMISSIONS, Grant, Target
from infra.resources import PROJECT_DIR, StageResources, table_definition

POLICY_VERSION = "2012-10-17"
# `chalice local` and the tests run this stage; it is never deployed.
LOCAL_STAGE = "local"


class ArnNames(Protocol):
    """How a policy names its resources: ARNs as text, or as template references."""

    def arns(self, target: Target, function: str) -> List[Any]: ...

    def condition(self, target: Target) -> Dict[str, Any]:
        """What else names the target, when its ARN cannot (a KMS key by its alias)."""
        ...


@dataclass(frozen=True)
class StageArns:
    """The stage's resources by name, in whatever account and region it is deployed to."""

    resources: StageResources
    app_name: str

    def arns(self, target: Target, function: str) -> List[Any]:
        table = f"arn:aws:dynamodb:*:*:table/{self.resources.table_name}"
        by_target: Dict[Target, List[Any]] = {
            Target.TABLE: [table],
            Target.INDEXES: [f"{table}/index/{name}" for name in index_names(self.resources)],
            Target.BACKUPS: [f"{table}/backup/*"],
            Target.QUEUE: [f"arn:aws:sqs:*:*:{self.resources.queue_name}"],
            Target.DEAD_LETTER_QUEUE: [f"arn:aws:sqs:*:*:{self.resources.dead_letter_queue_name}"],
            Target.LOG_GROUP: [
                f"arn:aws:logs:*:*:log-group:{log_group_name(self.app_name, self.resources.stage, function)}:*"
            ],
            Target.EVENT_BUS: [self.resources.event_bus_arn("arn:aws:events:*:*:event-bus")],
            Target.WEBHOOK_QUEUE: [f"arn:aws:sqs:*:*:{self.resources.webhook_queue_name}"],
            Target.WEBHOOK_DEAD_LETTER_QUEUE: [f"arn:aws:sqs:*:*:{self.resources.webhook_dead_letter_queue_name}"],
            # A key's ARN holds its id, made when the key is: the alias names it instead.
            Target.WEBHOOK_KEY: ["arn:aws:kms:*:*:key/*"],
            Target.ANY: ["*"],
        }
        return by_target[target]

    def condition(self, target: Target) -> Dict[str, Any]:
        if target == Target.WEBHOOK_KEY:
            return {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [self.resources.webhook_key_alias]}}
        return event_source_condition(self.resources, target)


def event_source_condition(resources: StageResources, target: Target) -> Dict[str, Any]:
    """Events may be put on the bus with the stage's own source only."""
    if target == Target.EVENT_BUS:
        return {"StringEquals": {"events:source": f"metadata-manager.{resources.stage}"}}
    return {}


def index_names(resources: StageResources) -> List[str]:
    return [str(index["IndexName"]) for index in table_definition(resources).get("GlobalSecondaryIndexes", [])]


def grants(function: str) -> Tuple[Grant, ...]:
    """Everything the function's role allows, logs first."""
    return (LOGS, *PERMISSIONS[function])


def statement(grant: Grant, function: str, names: ArnNames) -> Dict[str, Any]:
    resources: List[Any] = []
    for target in grant.targets:
        resources.extend(names.arns(target, function))
    result: Dict[str, Any] = {"Effect": "Allow", "Action": sorted(grant.actions), "Resource": resources}
    if grant.leading_keys:
        # Every item the request touches must have one of these partition keys.
        # A key ending in `*` names a kind of item (IAM's StringLike).
        operator = "StringLike" if any(key.endswith("*") for key in grant.leading_keys) else "StringEquals"
        result["Condition"] = {f"ForAllValues:{operator}": {"dynamodb:LeadingKeys": list(grant.leading_keys)}}
    for target in grant.targets:
        result.setdefault("Condition", {}).update(names.condition(target))
    if not result.get("Condition"):
        result.pop("Condition", None)
    return result


def policy_document(function: str, names: ArnNames) -> Dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": [statement(grant, function, names) for grant in grants(function)]}


# --- the committed files ---------------------------------------------------------------


def policy_filename(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def deployable_stages(config: Mapping[str, Any]) -> List[str]:
    return [stage for stage in config["stages"] if stage != LOCAL_STAGE]


class MissingDeclaration(Exception):
    """A function of the app has no entry in `infra.permissions.PERMISSIONS`."""


@dataclass
class PolicyFiles:
    """What `.chalice/` holds for the deployable stages: policy files and config.json."""

    files: Dict[Path, str] = field(default_factory=dict)
    config: Dict[str, Any] = field(default_factory=dict)


def generate(
    stages: Sequence[str], functions: Sequence[str], project_dir: Path = PROJECT_DIR
) -> Tuple[PolicyFiles, List[str]]:
    """The policy files of `stages` and config.json wired to them, for the app's
    `functions`; and notes on declared functions the app does not have (yet)."""
    missing = [function for function in functions if function not in PERMISSIONS]
    if missing:
        raise MissingDeclaration(
            f"no permissions declared for {', '.join(missing)}: add an entry to PERMISSIONS in infra/permissions.py"
        )
    notes = [
        f"{function} is declared in infra/permissions.py but app.py has no such function; no policy for it"
        for function in PERMISSIONS
        if function not in functions
    ]
    chalice_dir = project_dir / ".chalice"
    config = _without_autogen_policy(json.loads((chalice_dir / "config.json").read_text()))
    result = PolicyFiles(config=config)
    for stage in stages:
        names = StageArns(StageResources.for_stage(stage, project_dir), config["app_name"])
        stage_functions = config["stages"][stage].setdefault("lambda_functions", {})
        for function in functions:
            filename = policy_filename(stage, function)
            result.files[chalice_dir / filename] = json.dumps(policy_document(function, names), indent=2) + "\n"
            stage_functions.setdefault(function, {})["iam_policy_file"] = filename
    return result, notes


def _without_autogen_policy(config: Dict[str, Any]) -> Dict[str, Any]:
    # Chalice's generator reads only app.py and grants what it finds on "*" to one shared
    # role; ours come from the declaration, one role per function.
    if config.get("autogen_policy") is False:
        return config
    ordered: Dict[str, Any] = {}
    for key, value in config.items():
        if key != "autogen_policy":
            ordered[key] = value
        if key == "app_name":
            ordered["autogen_policy"] = False
    ordered.setdefault("autogen_policy", False)
    return ordered


def stale_files(stages: Sequence[str], expected: PolicyFiles, project_dir: Path = PROJECT_DIR) -> List[Path]:
    """Policy files of `stages` in `.chalice/` that the generator no longer makes."""
    found = [path for stage in stages for path in (project_dir / ".chalice").glob(f"policy-{stage}-*.json")]
    return sorted(path for path in found if path not in expected.files)


def config_text(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2) + "\n"


def write(stages: Sequence[str], expected: PolicyFiles, project_dir: Path = PROJECT_DIR) -> List[Path]:
    """Writes the files and config.json; removes stale policy files; answers what changed."""
    changed: List[Path] = []
    for path, text in expected.files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    for path in stale_files(stages, expected, project_dir):
        path.unlink()
        changed.append(path)
    config_path = project_dir / ".chalice" / "config.json"
    if json.loads(config_path.read_text()) != expected.config:
        config_path.write_text(config_text(expected.config))
        changed.append(config_path)
    return changed


def differences(stages: Sequence[str], expected: PolicyFiles, project_dir: Path = PROJECT_DIR) -> List[str]:
    """How the committed files differ from what the generator makes (empty: they agree)."""
    problems: List[str] = []
    for path, text in expected.files.items():
        relative = path.relative_to(project_dir)
        if not path.exists():
            problems.append(f"{relative} is missing")
        elif path.read_text() != text:
            problems.append(f"{relative} differs from what infra/permissions.py declares")
    stale = stale_files(stages, expected, project_dir)
    problems += [f"{path.relative_to(project_dir)} belongs to no function of app.py" for path in stale]
    current = json.loads((project_dir / ".chalice" / "config.json").read_text())
    if current != expected.config:
        problems.append(".chalice/config.json does not wire every function to its policy file (or autogen_policy)")
    return problems
