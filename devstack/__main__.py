"""`python -m devstack`: the local stack and the commands that act on it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

DESCRIPTION = """\
Runs Metadata Manager on this machine: the API (Chalice's local server, stage 'local')
on 127.0.0.1:PORT, the queue worker, and every @app.schedule function at its rate, with
DynamoDB, SQS and EventBridge emulated by moto (no AWS account, Docker or Java). Restarts the API
and the worker when app.py, chalicelib/ or .chalice/config.json change. Ctrl-C or
SIGTERM stops all of it."""

EPILOG = """\
environment:
  LOCAL_ADMIN_TOKEN  the admin token seeded at start (default: local-admin-token)
  PORT               the default of --port (else 8000)

commands on a running stack (choose it with --port):
  python -m devstack fire NAME   run the scheduled function NAME once, now
  python -m devstack events      print the change events sent to EventBridge, as they come
  python -m devstack webhook-receiver --port 9100 --secret whsec_...
                                 receive webhook deliveries, verify and print them

other tools reach the emulated AWS with the `export AWS_ENDPOINT_URL=...` line printed
at start, e.g. `python -m mmctl tokens create --name me --scope read`

see "The local stack" in README.md"""


def _default_port() -> int:
    value = os.environ.get("PORT", "")
    return int(value) if value.isdigit() else 8000


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m devstack",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument(
        "--port", type=int, default=_default_port(), help="the API's port on 127.0.0.1 (default: $PORT or 8000)"
    )
    root.add_argument(
        "--seed",
        type=Path,
        metavar="FILE",
        help="load these sites and page configs through the API once it is up (e.g. examples/seed.json)",
    )
    root.add_argument(
        "--aws",
        action="store_true",
        help="do not start moto: provision and run against the AWS of the environment "
        "(AWS_ENDPOINT_URL, AWS_PROFILE, credentials and region as boto3 finds them)",
    )
    root.add_argument("--no-reload", dest="reload", action="store_false", help="do not restart on code changes")
    commands = root.add_subparsers(dest="command", title="commands", metavar="{fire,events,webhook-receiver}")
    # SUPPRESS: `--port` given before the command is kept, not reset to the default.
    fire = commands.add_parser("fire", help="run a scheduled function once, now, against the running stack")
    fire.add_argument("name", help="the function's name (as in @app.schedule, usually the Python function's)")
    fire.add_argument("--port", type=int, default=argparse.SUPPRESS, help="the running stack's API port")
    events = commands.add_parser(
        "events",
        help="print the change events the running stack sends to EventBridge (one JSON line each)",
        description="Adds a rule on the running stack's event bus that targets a queue of its own, then "
        "prints the detail of each change event as it arrives, until Ctrl-C.",
    )
    events.add_argument("--port", type=int, default=argparse.SUPPRESS, help="the running stack's API port")
    receiver = commands.add_parser(
        "webhook-receiver",
        help="receive webhook deliveries on 127.0.0.1, verify their signatures and print them",
        description="Listens on http://127.0.0.1:PORT/hooks (any path) for webhook deliveries, verifies each "
        "signature (Standard Webhooks) with --secret, prints the event, and answers 200 (401 when the signature "
        "does not verify). Point a webhook at it: PUT /sites/{site}/webhooks/{name} with "
        '{"url": "http://127.0.0.1:PORT/hooks"}.',
    )
    receiver.add_argument("--port", type=int, default=9100, help="where to listen on 127.0.0.1 (default: 9100)")
    receiver.add_argument("--secret", help="the webhook's secret (whsec_...), as PUT or rotate-secret showed it")
    receiver.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer the first N with --status")
    receiver.add_argument("--status", type=int, default=500, help="what a failing answer is (default: 500; 410: gone)")
    receiver.add_argument("--delay", type=float, default=0.0, metavar="SECONDS", help="wait before answering")
    return root


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "fire":
        from devstack.fire import fire

        return fire(args.port, args.name)
    if args.command == "events":
        from devstack.events import watch

        return watch(args.port)
    if args.command == "webhook-receiver":
        from devstack.receiver import serve

        return serve(args.port, args.secret, args.fail_first, args.status, args.delay)
    from devstack.supervisor import run

    return run(args.port, args.seed, args.aws, args.reload)


if __name__ == "__main__":
    sys.exit(main())
