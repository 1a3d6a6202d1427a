"""`chalice package` for a stage, with the merge template; and the checks CI runs on the
result: the SAM template transformed to plain CloudFormation, both linted by cfn-lint.

Packaging calls no AWS API: Chalice only needs a region to name service principals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import boto3
from samtranslator.metrics.metrics import Metrics  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from infra.bytecode import RUNTIME, add_bytecode
from infra.deploy import run_chalice
from infra.functions import lambda_functions, load_app
from infra.operations import app_routes
from infra.resources import PROJECT_DIR, StageResources
from infra.template import merge_template, sqs_functions

BUILD_DIR = PROJECT_DIR / "build"
MERGE_TEMPLATE = "merge-template.json"
SAM_TEMPLATE = "sam.json"
CLOUDFORMATION_TEMPLATE = "cloudformation.json"
DEFAULT_REGION = "us-east-1"
# Where `aws cloudformation package` would have uploaded deployment.zip.
UPLOADED_CODE_URI = "s3://artifact-bucket/metadata-manager/deployment.zip"


class PackagingFailed(Exception):
    """`chalice package` did not produce a template."""


def write_merge_template(resources: StageResources, out_dir: Path) -> Path:
    app = load_app()
    template = merge_template(resources, app.app_name, lambda_functions(app), sqs_functions(app), app_routes(app))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MERGE_TEMPLATE
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path


def package(resources: StageResources, out_dir: Path, environ: Optional[Mapping[str, str]] = None) -> Path:
    """Writes the merge template, then Chalice's SAM template and deployment.zip, into
    `out_dir`; answers the SAM template's path."""
    merge = write_merge_template(resources, out_dir)
    env = dict(os.environ if environ is None else environ)
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_DEFAULT_REGION"] = DEFAULT_REGION
    arguments = ["package", "--stage", resources.stage, "--merge-template", str(merge), str(out_dir)]
    if run_chalice(resources, arguments, env) != 0:
        raise PackagingFailed(f"chalice package --stage {resources.stage} failed (its output is above)")
    sam = out_dir / SAM_TEMPLATE
    runtimes = {
        resource["Properties"].get("Runtime")
        for resource in json.loads(sam.read_text())["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    if runtimes != {RUNTIME}:
        raise PackagingFailed(f"the functions run on {sorted(runtimes)}, but this is {RUNTIME}: package with that")
    add_bytecode(out_dir / "deployment.zip")
    return sam


def transform_sam(template: Dict[str, Any], region: str = DEFAULT_REGION) -> Dict[str, Any]:
    """The SAM template as plain CloudFormation, as CloudFormation's transform makes it.

    The session only tells the translator its region; the template names no AWS managed
    policy, so no call is made to look one up.
    """
    uploaded = json.loads(json.dumps(template))
    for resource in uploaded["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # What `aws cloudformation package` does before CloudFormation sees the template.
            resource["Properties"]["CodeUri"] = UPLOADED_CODE_URI
    metrics = Metrics()  # kept by the translator for CloudFormation; published nowhere here
    session = boto3.session.Session(region_name=region)
    translated: Dict[str, Any] = Translator({}, Parser(), boto_session=session, metrics=metrics).translate(
        uploaded, parameter_values={}
    )
    metrics.publish()
    return translated


@dataclass(frozen=True)
class LintResult:
    path: Path
    exit_code: int
    output: str

    @property
    def failed(self) -> bool:
        # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
        # Warnings count: an unknown IAM action, for one, is only a warning.
        return self.exit_code == 1 or bool(self.exit_code & (2 | 4))


def cfn_lint(path: Path) -> LintResult:
    command = [str(Path(sys.executable).with_name("cfn-lint")), "--", str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own arguments)
    return LintResult(path, completed.returncode, (completed.stdout + completed.stderr).strip())


def lint_stage(resources: StageResources, out_dir: Path) -> List[LintResult]:
    """Packages the stage, transforms its template, and lints both."""
    sam = package(resources, out_dir)
    cloudformation = out_dir / CLOUDFORMATION_TEMPLATE
    cloudformation.write_text(json.dumps(transform_sam(json.loads(sam.read_text())), indent=2) + "\n")
    return [cfn_lint(sam), cfn_lint(cloudformation)]
