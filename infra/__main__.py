"""`python -m infra`: the release commands. README.md ("Release") says when to use each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

DESCRIPTION = """\
Release tooling for Metadata Manager. IAM policies are generated from
infra/permissions.py; the table, the queues and the log groups are defined once in
infra/resources.py, the worker's cap, the API's throttling, the alarms and the dashboard
in infra/operations.py and infra/monitoring.py, for the packaged template and for
`chalice deploy` alike. Stages come from .chalice/config.json; stage 'local' is never
deployed."""

EPILOG = """\
AWS is reached as boto3 finds it (AWS_PROFILE, AWS_REGION, credentials), only by
'provision' and 'deploy'. 'policy', 'package' and 'lint-templates' make no AWS call."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m infra",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy = commands.add_parser(
        "policy",
        help="write .chalice/policy-<stage>-<function>.json and wire them into .chalice/config.json",
        description="Writes one IAM policy file per Lambda function of app.py and stage, from "
        "infra/permissions.py, sets autogen_policy to false and each function's iam_policy_file in "
        ".chalice/config.json, and removes policy files of functions that no longer exist.",
    )
    policy.add_argument(
        "--stage",
        action="append",
        metavar="STAGE",
        help="a stage to generate (repeatable; default: every stage but local)",
    )
    policy.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when the committed files differ from what would be written",
    )

    package = commands.add_parser(
        "package",
        help="chalice package a stage with the merge template (SAM template and deployment.zip)",
        description="Writes OUT/merge-template.json (table, queues, log groups, per-function policies, "
        "the worker's event source and its maximum concurrency, gateway responses, the API's name, tracing "
        "and throttling, alarms, their SNS topic, the dashboard), then runs `chalice package --stage STAGE "
        "--merge-template` into OUT: OUT/sam.json and OUT/deployment.zip.",
    )
    package.add_argument("--stage", required=True, help="the stage to package (not local)")
    package.add_argument("--out", type=Path, metavar="OUT", help="the output directory (default: build/STAGE)")

    lint = commands.add_parser(
        "lint-templates",
        help="package stages, transform each SAM template to CloudFormation, lint both with cfn-lint",
        description="For each stage: packages it into OUT/STAGE, transforms OUT/STAGE/sam.json into "
        "OUT/STAGE/cloudformation.json with the AWS SAM translator, and runs cfn-lint on both. "
        "Exits 1 when cfn-lint reports an error or a warning (an unknown IAM action is a warning).",
    )
    lint.add_argument("--stage", action="append", metavar="STAGE", help="repeatable; default: every stage but local")
    lint.add_argument("--out", type=Path, metavar="OUT", help="the output directory (default: build)")

    provision = commands.add_parser(
        "provision",
        help="create or update the stage's table, queues, log groups, alarms and dashboard in AWS",
        description="Creates what is missing and brings the rest in line with infra/resources.py and "
        "infra/monitoring.py: the DynamoDB table (TTL, point-in-time recovery, encryption, deletion "
        "protection in prod), the write and webhook queues and their dead-letter queues, the KMS key of "
        "webhook secrets, a log group with a retention per Lambda function, the CloudWatch alarms, the SNS "
        "topic they notify and the dashboard. Running it again changes nothing. Never deletes anything.",
    )
    provision.add_argument("--stage", required=True, help="the stage to provision (not local)")

    deploy = commands.add_parser(
        "deploy",
        help="check the policy files, provision the stage, chalice deploy it, then set what Chalice cannot",
        description="Refuses when the committed policy files are out of date, runs 'provision', then "
        "`chalice deploy --stage STAGE` with the stage's environment variables set; then sets what Chalice "
        "cannot: API Gateway's own error answers (gateway responses), the REST API's name, tracing and "
        "throttling (stage and write routes) on the deployed API, and the worker's event source's maximum "
        "concurrency.",
    )
    deploy.add_argument("--stage", required=True, help="the stage to deploy (not local)")
    return root


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    from infra import commands

    try:
        if args.command == "policy":
            return commands.policy(args.stage, args.check)
        if args.command == "package":
            return commands.package(args.stage, args.out)
        if args.command == "lint-templates":
            return commands.lint_templates(args.stage, args.out)
        if args.command == "provision":
            return commands.provision(args.stage)
        return commands.deploy(args.stage)
    except commands.CommandError as exc:
        print(f"infra: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
