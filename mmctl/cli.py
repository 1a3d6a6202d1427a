"""Commands an operator runs against a stage: API tokens, and the dead-letter redrive.

AWS is reached the usual way (AWS_PROFILE, AWS_REGION, or AWS_ENDPOINT_URL for the local
stack); the stage's resource names come from .chalice/config.json.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, Callable, List, TextIO

import boto3

from chalicelib import access as auth
from chalicelib.store import Store
from chalicelib.store.tokens import TokenStore
from chalicelib.upkeep import Redrive, time_budget
from infra.resources import StageResources

SessionFactory = Callable[[], Any]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmctl",
        description="Operate a Metadata Manager stage. AWS credentials and endpoint come from the "
        "environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL).",
    )
    parser.add_argument("--stage", default="local", help="stage in .chalice/config.json (default: local)")
    commands = parser.add_subparsers(dest="command", required=True)

    tokens = commands.add_parser("tokens", help="create, list and revoke API tokens")
    token_commands = tokens.add_subparsers(dest="action", required=True)
    create = token_commands.add_parser("create", help="create a token; it is printed once and stored only as a hash")
    create.add_argument("--name", required=True, help="who or what the token is for, e.g. 'admin tool'")
    create.add_argument("--scope", required=True, choices=auth.SCOPES, help="read < write < admin")
    token_commands.add_parser("list", help="list tokens (ids, names, scopes; never the tokens themselves)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id (as `list` shows it)")
    revoke.add_argument("token_id")

    redrive = commands.add_parser(
        "redrive",
        help="move messages from a dead-letter queue back to its queue (after fixing their cause)",
    )
    redrive.add_argument(
        "--queue",
        choices=("writes", "webhooks"),
        default="writes",
        help="the write queue's dead letters (default), or the webhook delivery queue's (each gets another 24 "
        "hours of retries)",
    )
    redrive.add_argument("--max", type=int, default=1000, help="move at most this many messages (default 1000)")
    redrive.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="start no round of ten after this many seconds, less a margin (default: no limit)",
    )
    return parser


def main(argv: List[str], session_factory: SessionFactory = boto3.session.Session, out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    resources = StageResources.for_stage(args.stage)
    session = session_factory()
    if args.command == "redrive":
        return _redrive(args, session.client("sqs"), resources, out)
    tokens = Store.over(session.resource("dynamodb").Table(resources.table_name)).tokens
    return _tokens(args, tokens, out)


def _redrive(args: argparse.Namespace, sqs: Any, resources: StageResources, out: TextIO) -> int:
    webhooks = args.queue == "webhooks"
    dead_name = resources.webhook_dead_letter_queue_name if webhooks else resources.dead_letter_queue_name
    dead_letters = sqs.get_queue_url(QueueName=dead_name)["QueueUrl"]
    queue_name = resources.webhook_queue_name if webhooks else resources.queue_name
    queue = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    # No Lambda timeout here: it runs until the queue is empty or --max, or --max-seconds.
    time_left = time_budget(args.max_seconds) if args.max_seconds is not None else None
    if webhooks:
        from chalicelib.core import utc_now
        from chalicelib.events import redriven

        redrive = Redrive(
            sqs, dead_letters, queue, time_left, fifo=False, rewrite=lambda body: redriven(body, utc_now())
        )
    else:
        redrive = Redrive(sqs, dead_letters, queue, time_left)
    result = redrive.run(args.max)
    print(json.dumps(result.model_dump()), file=out)
    return 0 if result.failed == 0 else 1


def _tokens(args: argparse.Namespace, tokens: TokenStore, out: TextIO) -> int:
    if args.action == "create":
        secret, record = auth.issue_token(tokens, args.name, args.scope, actor=_operator())
        print(json.dumps({"token": secret, **record.model_dump()}, indent=2), file=out)
        print("Keep the token now: it cannot be shown again.", file=sys.stderr)
        return 0
    if args.action == "list":
        for token in tokens.list():
            print(f"{token.tokenId}  {token.scope:<5}  {token.createdAt}  {token.name}", file=out)
        return 0
    if tokens.delete(args.token_id, actor=_operator()):
        print(f"revoked {args.token_id}", file=out)
        return 0
    print(f"no token with id {args.token_id}", file=sys.stderr)
    return 1


def _operator() -> str:
    """Who ran the command, for the audit trail: mmctl and the local user's name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"mmctl ({user})"
