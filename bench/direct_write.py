"""The naive design the burst benchmark compares with: `POST /metadata` writing straight
to the table. Dev-only, never deployed; served by Chalice's local server in a process of
its own (`python -m bench.direct_write --port N`), as the API of the local stack is.

It validates the body and the token as the real API does, then writes the config in the
same transaction the worker uses (the same stores and keys), and answers 201, or 503
when the table refuses once the SDK's retries are spent.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from chalice.app import Chalice, Response
from chalice.config import Config
from chalice.local import LocalDevServer, ThreadedHTTPServer
from pydantic import ValidationError

from chalicelib import access as auth
from chalicelib.core import ids
from chalicelib.core.clock import isoformat, utc_now
from chalicelib.core.errors import DependencyUnavailable, DomainError
from chalicelib.services import get_services
from chalicelib.store import Operation, Publication, Receipt, RenderConfig, version_of
from chalicelib.store.configs import ConfigStore
from chalicelib.web.models import ConfigCreateInput
from chalicelib.web.status import answer_for
from devstack.gateway import ContractRequestHandler
from devstack.supervisor import LISTEN_BACKLOG

app = Chalice(app_name="direct-write", configure_logs=False)


def _json(status: int, body: object) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@app.route("/metadata", methods=["POST"])
def create_config() -> Response:
    request = app.current_request
    assert request is not None
    store = get_services().store
    try:
        # As the real route: 401/403 for the token, 503 when it cannot be checked now.
        principal = auth.authenticate(request.headers.get("authorization", ""), store.tokens)
        principal.demand("write")
    except DomainError as error:
        status, code = answer_for(error)
        return _json(status, {"error": code, "message": error.message})
    try:
        body = ConfigCreateInput.model_validate_json(request.raw_body or b"{}")
    except ValidationError as exc:
        return _json(422, {"error": "ValidationFailed", "message": str(exc.errors(include_input=False)[:3])})
    now = utc_now()
    stamp = isoformat(now)
    config = RenderConfig(id=ids.new_config_id(now), **body.model_dump(), version=1, createdAt=stamp, updatedAt=stamp)
    operation = Operation(
        operationId=ids.new_operation_id(now),
        status="succeeded",
        type="config.create",
        resourceId=config.id,
        version=1,
        submittedAt=stamp,
        completedAt=stamp,
    )
    actor = f"token:{principal.token_id}"
    transaction = store.table.transaction()
    publication = Publication.of(config, stamp)
    ConfigStore.add_create(transaction, config, version_of(config, operation.operationId, actor), publication)
    store.receipts.add(transaction, Receipt(operation, actor))
    try:
        store.table.commit(transaction)
    except DependencyUnavailable as exc:
        return _json(503, {"error": "ServiceUnavailable", "message": exc.message})
    return _json(201, {"id": config.id, "version": 1})


class _Server(ThreadedHTTPServer):
    # As the local stack's API listens (devstack/supervisor.py); the socketserver default
    # of 5 would refuse a burst's connections.
    request_queue_size = LISTEN_BACKLOG


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.direct_write", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    config = Config.create(chalice_app=app, app_name=app.app_name)
    # The local stack's request handler: answers that close their connection say so.
    server = LocalDevServer(app, config, "127.0.0.1", args.port, handler_cls=ContractRequestHandler, server_cls=_Server)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
