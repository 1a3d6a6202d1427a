"""The API process of the local stack: Chalice's local server for one stage, on the
listening socket the supervisor hands down (`python -m devstack.api --fd N`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
from types import FrameType
from typing import Optional, Sequence

from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes

from devstack.gateway import local_server
from devstack.processes import exit_with_parent, quiet_sdk_logs
from infra.resources import PROJECT_DIR


def _stop(signum: int, frame: Optional[FrameType]) -> None:
    raise SystemExit(0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.api", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="a bound, listening socket's file descriptor")
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    exit_with_parent()
    # As `chalice local`: the functions' own logging to stdout, as it is in Lambda.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    sock = socket.socket(fileno=args.fd)
    # Applies the stage's environment variables to this process before app.py is imported.
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    validate_routes(app.routes)
    server = local_server(app, config, sock)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
