"""The worker process of the local stack (`python -m devstack.worker`): delivers each
`@app.on_sqs_message` queue to its function, as Lambda's event source does, and fires
each `@app.schedule` function at its rate, as EventBridge does."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set

import boto3
from chalice.app import Chalice, SQSEventConfig
from chalice.local import LambdaContext
from chalice.test import Client

from devstack.poller import QueuePoller
from devstack.processes import exit_with_parent, quiet_sdk_logs
from devstack.schedule import ScheduleError, Scheduler
from infra.resources import PROJECT_DIR

log = logging.getLogger("devstack.worker")
# Lambda takes at most 10 messages of a FIFO queue in one batch.
MAX_FIFO_BATCH = 10
# A standard queue (webhook deliveries) is polled by several pollers at once, as Lambda
# scales its event source: a slow receiver holds one of them, never the others.
STANDARD_QUEUE_POLLERS = 4
# A FIFO queue (the write queue) is polled by one poller unless this says how many, as a
# deployed stage's cap (`reserved_concurrency`) lets that many batches run at once; the
# burst benchmark sets it (bench/burst.py).
FIFO_POLLERS_VARIABLE = "DEVSTACK_WORKER_CONCURRENCY"


class Functions:
    """Invokes the app's functions as Lambda would, one at a time.

    `chalice.test.Client` swaps `os.environ` for the stage's during each invocation;
    two threads doing that at once could leave each other's copy in place. A function
    that runs beside the others (`at_once`) is called without the swap: this process was
    started with the stage's environment already (devstack.supervisor).
    """

    def __init__(self, app: Chalice, stage: str) -> None:
        self._app = app
        self._client = Client(app, stage_name=stage, project_dir=str(PROJECT_DIR))
        self._lock = threading.Lock()
        self._warm: Set[str] = set()

    def invoke(self, name: str, event: Dict[str, Any]) -> Any:
        with self._lock:
            return self._client.lambda_.invoke(name, event).payload

    def invoke_at_once(self, name: str, event: Dict[str, Any]) -> Any:
        handler = self._app.handler_map[name]
        if name not in self._warm:
            # The first call builds the function's services (boto3 sessions and clients,
            # which are not safe to build from two threads at once): one at a time.
            with self._lock:
                if name not in self._warm:
                    result = handler(event, LambdaContext(name, memory_size=512))
                    self._warm.add(name)
                    return result
        return handler(event, LambdaContext(name, memory_size=512))

    def warm(self, name: str) -> None:
        """Builds a function's services with an empty batch, before its pollers start: its
        first real batch then runs without the lock, so a slow first batch (a receiver that
        hangs) never holds up another function's invocations meanwhile."""
        self.invoke_at_once(name, {"Records": []})

    def for_function(self, name: str, at_once: bool = False) -> Callable[[Dict[str, Any]], Any]:
        if at_once:
            return lambda event: self.invoke_at_once(name, event)
        return lambda event: self.invoke(name, event)


def reports_batch_item_failures(environ: Mapping[str, str]) -> bool:
    """Whether the event source is set up with ReportBatchItemFailures: the functions are
    told so by WORKER_REPORTS_BATCH_FAILURES (see chalicelib.core.stage), and the local
    event source must do what they expect of it."""
    return environ.get("WORKER_REPORTS_BATCH_FAILURES", "").strip().lower() in ("1", "true", "yes", "on")


def fifo_pollers(environ: Mapping[str, str]) -> int:
    """How many batches of a FIFO queue run at once: 1, or DEVSTACK_WORKER_CONCURRENCY."""
    text = environ.get(FIFO_POLLERS_VARIABLE, "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{FIFO_POLLERS_VARIABLE} must be a whole number of 1 or more, not {text!r}")
    return int(text)


def queue_sources(app: Chalice) -> List[SQSEventConfig]:
    return [source for source in app.event_sources if isinstance(source, SQSEventConfig)]


def _queue_name(source: SQSEventConfig) -> str:
    if source.queue:
        return source.queue
    return str(source.queue_arn).rsplit(":", 1)[-1]


def start(app: Chalice, stage: str, sqs: Any, region: str, stop: threading.Event) -> List[threading.Thread]:
    """One poller thread per queue the app listens to, and one scheduler thread."""
    functions = Functions(app, stage)
    threads = []
    for source in queue_sources(app):
        name = _queue_name(source)
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        fifo = name.endswith(".fifo")
        pollers = fifo_pollers(os.environ) if fifo else STANDARD_QUEUE_POLLERS
        if pollers > 1:
            functions.warm(source.name)
        for number in range(pollers):
            poller = QueuePoller(
                sqs,
                url,
                functions.for_function(source.name, at_once=pollers > 1),
                batch_size=min(source.batch_size, MAX_FIFO_BATCH),
                report_batch_item_failures=fifo and reports_batch_item_failures(os.environ),
            )
            threads.append(threading.Thread(target=poller.run, args=(stop,), name=f"poll-{source.name}-{number}"))
        print(
            f"devstack: {source.name} receives {name} in batches of up to {source.batch_size}"
            + ("" if pollers == 1 else f", {pollers} batches at once"),
            flush=True,
        )
    scheduler = Scheduler(app, stage, region, functions.invoke)
    for line in scheduler.describe():
        print(f"devstack: schedule {line}", flush=True)
    threads.append(threading.Thread(target=scheduler.run, args=(stop,), name="scheduler"))
    for thread in threads:
        thread.start()
    return threads


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.worker", description=__doc__)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()  # the batch in hand finishes; no new one is received

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    exit_with_parent()
    try:
        fifo_pollers(os.environ)
    except ValueError as exc:
        print(f"devstack: {exc}", file=sys.stderr, flush=True)
        return 1
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    app: Chalice = importlib.import_module("app").app
    session = boto3.session.Session()
    try:
        threads = start(app, args.stage, session.client("sqs"), session.region_name or "us-east-1", stop)
    except ScheduleError as exc:
        print(f"devstack: cannot schedule: {exc}", file=sys.stderr, flush=True)
        return 1
    while not stop.wait(0.5):
        if not all(thread.is_alive() for thread in threads):
            log.error("a worker thread ended unexpectedly; stopping the worker")
            stop.set()
            return 1
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
