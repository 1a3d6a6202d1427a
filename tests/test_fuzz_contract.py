"""The contract fuzzed, two ways.

1. schemathesis generates requests from the running local stack's own `/openapi.json`
   (with an admin token) and checks every answer: never a 5xx, and status, content type,
   headers and body as documented.
2. hypothesis sends, through `chalice.test.Client` (tests/conftest.py), what the document
   cannot describe (tests/strategies.py): settings nested up to the body limit (objects,
   arrays, mixed) and thousands wide, numbers no double holds, repeated keys, UTF-16/32
   with and without a BOM, a BOM in UTF-8, invalid UTF-8, escaped lone surrogates, odd
   Content-Types, empty and blank bodies, odd Idempotency-Keys; and repeats of keyed
   requests, interleaved with the worker or sent in parallel. It checks what a user would
   notice: never a 5xx; every 4xx with the contract's error body, and only short log
   lines (no traceback); a plain request accepted; a number refused as a 422 naming its
   field; anything accepted (202), once applied, read back exactly as sent (JSON values,
   numbers by value, the last of repeated keys); every repeat of a keyed request naming
   the same operation and the same resource, applied once. Requests and the worker run
   as in Lambda: in a fresh thread, with Python's default recursion limit.

`make test` runs a bounded number of examples with a fixed seed; `make fuzz` runs many
more, with a fresh seed each time (CONTRACT_FUZZ_EXAMPLES, CONTRACT_FUZZ_SEED).

Known findings of schemathesis that are not fixed yet are accepted through a baseline
(`test_fuzz_contract.baseline.json`, one entry per finding): a new finding fails the run,
and `--baseline-prune` drops an entry once its finding is gone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from chalicelib import access as auth
from chalicelib.core.limits import DEFAULT_CACHE_MAX_AGE, MAX_BODY_BYTES, MAX_SETTINGS_DEPTH
from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from devstack.poller import lambda_sqs_event
from tests import strategies
from tests.conftest import REGION, Api
from tests.helpers import AtomicCalls
from tests.stack import LocalStack, running_stack
from tests.strategies import exact_json, in_lambda

ADMIN_TOKEN = f"fuzz-admin-{uuid.uuid4().hex[:12]}"
EXAMPLES = int(os.environ.get("CONTRACT_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("CONTRACT_FUZZ_SEED", "1")
BASELINE = Path(__file__).with_name("test_fuzz_contract.baseline.json")
# What the contract promises of every answer (see the module's doc).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
# Chalice's local server answers TRACE and QUERY itself, with a bare 501 page: the local
# stack's own finding, reported, and not the service's (API Gateway never forwards them).
CONFIG = """
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]
"""


# Not named `stack`: that is the moto stack the in-process tests below run on.
@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("fuzz-stack"), ADMIN_TOKEN, seed="examples/seed.json") as local:
        yield local


def schemathesis_command(stack: LocalStack, config: Path) -> List[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{stack.url}/openapi.json",
        # The document's server is relative to where it is served ("."), which schemathesis
        # takes as a path rather than resolving it: the base URL is given instead.
        "--url",
        stack.url,
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--generation-database",
        "none",
        "--baseline",
        str(BASELINE),
    ]
    if SEED:
        command += ["--seed", SEED]
    return command


@pytest.mark.e2e
def test_every_answer_to_generated_requests_is_as_documented_and_never_a_5xx(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    result = subprocess.run(  # noqa: S603 (our own interpreter's schemathesis)
        schemathesis_command(local_stack, config),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # About a minute for the default 25 examples of each of the ~30 operations on 2 busy
        # cores; `make fuzz` asks for many more.
        timeout=max(600, 12 * EXAMPLES),
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "API Operations:" in report
    server_errors = [line for line in local_stack.output().splitlines() if '"status": 5' in line]
    assert server_errors == [], "\n".join(server_errors[:20])


# --- in process: what the document cannot describe -----------------------------------

# One short JSON line per request; a traceback or an echoed body is neither.
LOG_LINE_LIMIT = 2048
_counter = itertools.count()


def fuzz_settings(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The hypothesis settings of these tests: `examples` of them, seeded as schemathesis is."""

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        test = settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=strategies.FUZZ_HEALTH_CHECKS,
            phases=strategies.FUZZ_PHASES,
        )(test)
        return seed(int(SEED))(test) if SEED else test

    return decorate


class Shop:
    """The site "shop" with one config, a fresh token for each example (so that keys of
    one example are not those of another), and the requests of the examples."""

    def __init__(self, api: Api) -> None:
        self.api = api
        api.create_site()
        self.config = api.create_config(page="fuzzed")
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.lines: List[str] = []
        self.crashes: List[str] = []

    def token(self) -> str:
        return auth.issue_token(get_services().store.tokens, "fuzz", "admin")[0]

    def start(self) -> None:
        """A clean slate for an example: nothing left on the queue by the one before."""
        self.apply()

    def send(self, method: str, path: str, raw: bytes, headers: Dict[str, str]) -> Any:
        """The request, with the service's log lines while it ran in `self.lines`."""
        self.lines.clear()
        return in_lambda(lambda: self.api.client.http.request(method, path, headers=headers, body=raw))

    def apply(self) -> int:
        """The worker applies what is queued, as the event source would hand it over; its
        log lines are in `self.lines`, and what it raised in `self.crashes`. Whatever it
        leaves is deleted: the example is over, and the next starts with an empty queue."""
        self.lines.clear()
        self.crashes.clear()
        seen = 0
        while messages := self.sqs.receive_message(
            QueueUrl=self.api.stack.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", []):
            seen += len(messages)
            event = lambda_sqs_event(messages, self.api.stack.queue_arn, REGION)
            try:
                in_lambda(lambda: self.api.client.lambda_.invoke("apply_writes", event))  # noqa: B023
            except BatchIncomplete:
                pass  # the worker's way to leave messages for a retry
            except Exception as exc:  # a crash of the whole batch; the check names it
                self.crashes.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            for message in messages:
                with contextlib.suppress(ClientError):  # the worker deleted it already
                    self.sqs.delete_message(QueueUrl=self.api.stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    def worker_errors(self) -> str:
        errors = [line[:600] for line in self.lines if '"level": "ERROR"' in line or "exc_info" in line]
        return "\n".join(self.crashes + errors)

    def read(self, path: str) -> Any:
        response = self.api.request("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.body)
        return exact_json(response.body)


@pytest.fixture
def shop(api: Api) -> Iterator[Shop]:
    """A shop whose service logs go to `shop.lines`, as they would be printed, and not
    to the output: hundreds of examples of JSON lines would take gigabytes."""
    created = Shop(api)
    logger = get_services().logger
    handlers, level = logger.handlers[:], logger.level

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            created.lines.append(self.format(record))

    keep = Keep()
    keep.setFormatter(handlers[0].formatter)
    for log_filter in handlers[0].filters:
        keep.addFilter(log_filter)
    logger.handlers = [keep]
    logger.setLevel(logging.INFO)
    try:
        yield created
    finally:
        logger.handlers = handlers
        logger.setLevel(level)


def _brief(response: Any) -> str:
    body = response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else str(response.body)
    return f"{response.status_code} {body[:300]}"


def check_answer(response: Any, lines: List[str]) -> None:
    """What every answer promises, whatever was sent: no 5xx; a 4xx with the contract's
    error body; no more than short log lines (no traceback, nothing of the body)."""
    assert response.status_code < 500, f"a server error for what a client sent: {_brief(response)}"
    if response.status_code >= 400:
        assert response.headers.get("Content-Type") == "application/json", _brief(response)
        body = json.loads(response.body)
        assert isinstance(body, dict), _brief(response)
        assert {"error", "message", "requestId"} <= set(body), _brief(response)
        assert all(isinstance(body[name], str) and body[name] for name in ("error", "message", "requestId"))
        assert body["requestId"] == response.headers["X-Request-Id"], _brief(response)
    long = [line[:300] + "..." for line in lines if len(line) > LOG_LINE_LIMIT or "Traceback" in line]
    assert long == [], f"log lines over {LOG_LINE_LIMIT} characters or with a traceback for {_brief(response)}"


# The fields each route stores, and what a body that leaves one out gets.
MISSING = object()
READ_BACK = {
    "POST /metadata": {"site": MISSING, "page": MISSING, "layout": MISSING, "theme": MISSING, "settings": {}},
    "PUT /metadata/{id}": {"layout": MISSING, "theme": MISSING, "settings": {}},
    "PUT /sites/{site}": {"name": MISSING, "allowedOrigins": [], "cacheMaxAge": Decimal(DEFAULT_CACHE_MAX_AGE)},
}


@pytest.mark.parametrize("focus", sorted(strategies.FOCI))
@fuzz_settings(EXAMPLES)
@given(data=st.data())
def test_any_body_is_refused_with_a_4xx_or_read_back_exactly_as_sent(shop: Shop, focus: str, data: Any) -> None:
    """Each focus (tests/strategies.py, FOCI) stresses one thing and keeps the rest plain,
    so a failure names its cause; "anything" mixes them all. (Everything is drawn with a
    label: pytest shows no values of `given` arguments in a failing example.)"""
    stress = strategies.FOCI[focus]
    route: str = data.draw(st.sampled_from(stress.routes), label="route")
    body: strategies.Body = data.draw(stress.bodies(route), label="body")
    wire: strategies.Wire = data.draw(stress.wires(), label="wire")
    key: Optional[str] = data.draw(stress.keys(), label="Idempotency-Key")
    number = next(_counter)
    page, site = f"page-{number}", f"site-{number}"
    text = body.text(page)
    raw = wire.encode(text)
    method, template = route.split(" ")
    path = template.format(id=shop.config["id"], site=site)
    headers = {"Authorization": f"Bearer {shop.token() if key else shop.api.tokens['admin']}", **wire.headers()}
    if key is not None:
        headers["Idempotency-Key"] = key  # with a token of its own: no key is another example's

    shop.start()
    response = shop.send(method, path, raw, headers)
    check_answer(response, shop.lines)
    queued = shop.apply()
    usual = wire.plain and (key is None or strategies.key_is_valid(key)) and len(raw) <= MAX_BODY_BYTES
    if response.status_code != 202:
        assert queued == 0, f"refused with {response.status_code}, yet {queued} operation(s) were queued"
        assert not (usual and body.plain), f"a plain request refused: {_brief(response)}"
        odd_number = body.odd_only_in(strategies.NOT_A_DOUBLE)
        if usual and odd_number and route != "PUT /sites/{site}":
            check_names_the_field(response, odd_number)
        return
    check_kept_exactly(shop, route, body, wire, key, text, response, site)
    assert queued == 1, queued


def check_names_the_field(response: Any, name: str) -> None:
    """A number refused must be refused as a field: 422, with `details` naming it."""
    assert response.status_code == 422, f"a number no double holds, refused as {_brief(response)}"
    fields = [str(detail.get("field", "")) for detail in json.loads(response.body).get("details", [])]
    assert any(field == name or field.startswith(f"{name}.") for field in fields), _brief(response)


def check_kept_exactly(
    shop: Shop,
    route: str,
    body: strategies.Body,
    wire: strategies.Wire,
    key: Optional[str],
    text: str,
    response: Any,
    site: str,
) -> None:
    """Accepted: the body was JSON within the limits, and reads back as a careful reader
    reads what was sent (numbers by value, the last of repeated keys)."""
    assert not wire.invalid, "accepted a body that is not Unicode text"
    assert key is None or strategies.key_is_valid(key), f"accepted the Idempotency-Key {key!r}"
    settings_doc = body.settings() if route != "PUT /sites/{site}" else None
    if settings_doc is not None:
        assert settings_doc.depth <= MAX_SETTINGS_DEPTH, f"accepted settings nested {settings_doc.depth} levels"
    try:
        sent = exact_json(text)
    except (ValueError, RecursionError) as exc:
        raise AssertionError(f"accepted a body that is not JSON ({exc})") from None
    assert isinstance(sent, dict), f"accepted a body that is not an object: {_brief(response)}"

    accepted = json.loads(response.body)
    operation = shop.read(f"/operations/{accepted['operationId']}")
    assert operation["status"] == "succeeded", f"accepted, then not applied: {operation}\n{shop.worker_errors()}"
    if route == "PUT /sites/{site}":
        stored = [shop.read(f"/sites/{site}")]
        if isinstance(sent.get("name"), str):
            sent["name"] = sent["name"].strip()  # a display name: stored trimmed
    else:
        stored = [shop.read(f"/metadata/{accepted['id']}")]
        stored.append(shop.read(f"/sites/shop/pages/{stored[0]['page']}"))
    for name, default in READ_BACK[route].items():
        expected = sent.get(name, default)
        assert expected is not MISSING, f"accepted a body without {name!r}"
        for view in stored:
            if name in view:
                found = strategies.difference(expected, view[name], name)
                assert found is None, f"stored something else than was sent: {found}"


def _keyed_request(shop: Shop, route: str, body: strategies.Body, number: int) -> Tuple[str, str, bytes, str]:
    """Method, path, body and the resource of a keyed request of this example."""
    method, template = route.split(" ")
    if route == "POST /metadata":
        return method, template, body.text(f"keyed-{number}").encode(), ""
    if route == "PUT /sites/{site}":
        site = f"keyed-{number}"
        return method, template.format(site=site), body.text("").encode(), site
    config = shop.api.create_config(page=f"keyed-{number}")
    raw = b"" if method == "DELETE" else body.text("").encode()
    return method, template.format(id=config["id"]), raw, config["id"]


KEYED_ROUTES = ["POST /metadata", "PUT /metadata/{id}", "DELETE /metadata/{id}", "PUT /sites/{site}"]
PLAIN_BODIES = {
    "POST /metadata": strategies.plain_bodies("POST /metadata"),
    "PUT /metadata/{id}": strategies.plain_bodies("PUT /metadata/{id}"),
    "DELETE /metadata/{id}": st.just(strategies.Body(raw="")),
    "PUT /sites/{site}": strategies.plain_bodies("PUT /sites/{site}"),
}


class Repeats:
    """The answers to one keyed request sent again and again, and what they must agree on."""

    def __init__(self, shop: Shop, route: str, body: strategies.Body, key: str) -> None:
        self.shop, self.route, self.key = shop, route, key
        shop.start()
        self.method, self.path, self.raw, self.resource = _keyed_request(shop, route, body, next(_counter))
        self.token = shop.token()
        self.before = shop.read(f"/metadata/{self.resource}")["version"] if "{id}" in route else 0
        self.answers: List[Tuple[str, Any]] = []

    def send(self, when: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": self.key}
        if self.method != "DELETE":
            headers["Content-Type"] = "application/json"
        response = self.shop.api.client.http.request(self.method, self.path, headers=headers, body=self.raw)
        self.answers.append((when, response))

    def parallel(self, count: int, when: str) -> None:
        """`count` sends at once, from as many threads, switching between them often."""
        start = threading.Barrier(count)
        errors: List[BaseException] = []

        def send() -> None:
            try:
                start.wait()
                self.send(when)
            except BaseException as exc:  # reported by the test's thread
                errors.append(exc)

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            threads = [threading.Thread(target=send) for _ in range(count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(interval)
        assert errors == [], errors

    def check(self) -> None:
        self.shop.apply()
        table = "\n".join(f"  {when}: {_brief(response)}" for when, response in self.answers)
        if not strategies.key_is_valid(self.key):
            assert all(response.status_code == 400 for _, response in self.answers), table
            for _, response in self.answers:
                check_answer(response, [])
            return
        assert all(response.status_code == 202 for _, response in self.answers), table
        accepted = [json.loads(response.body) for _, response in self.answers]
        operations = {answer["operationId"] for answer in accepted}
        resources = {answer.get("id") for answer in accepted}
        assert len(operations) == 1, f"repeats of one keyed request named {len(operations)} operations:\n{table}"
        assert len(resources) == 1, f"repeats of one keyed request named {len(resources)} resources:\n{table}"
        (operation_id,), (resource,) = operations, resources
        operation = self.shop.read(f"/operations/{operation_id}")
        assert operation["status"] == "succeeded", operation
        assert operation["resourceId"] == resource, operation
        self._applied_once(resource)

    def _applied_once(self, resource: str) -> None:
        api = self.shop.api
        if self.route == "POST /metadata":
            page = f"/metadata?site=shop&page={json.loads(self.raw)['page']}"
            assert [item["id"] for item in self.shop.read(page)["items"]] == [resource]
            assert self.shop.read(f"/metadata/{resource}")["version"] == 1
        elif self.route == "PUT /metadata/{id}":
            assert resource == self.resource
            assert self.shop.read(f"/metadata/{resource}")["version"] == self.before + 1
        elif self.route == "DELETE /metadata/{id}":
            assert resource == self.resource
            assert api.request("GET", f"/metadata/{resource}").status_code == 404
            versions = self.shop.read(f"/metadata/{resource}/versions")["items"]
            assert [(item["version"], item["deleted"]) for item in versions[:2]] == [
                (self.before + 1, True),
                (self.before, False),
            ]
        else:
            assert resource == self.resource
            assert self.shop.read(f"/sites/{resource}")["version"] == 1


@fuzz_settings(EXAMPLES)
@given(data=st.data())
def test_repeats_of_a_keyed_request_interleaved_with_the_worker_name_one_operation(shop: Shop, data: Any) -> None:
    """A keyed request sent again while the first is queued, after it is applied, and
    both: every answer names the same operation and resource, applied once."""
    route: str = data.draw(st.sampled_from(KEYED_ROUTES), label="route")
    key: str = data.draw(strategies.idempotency_keys(), label="Idempotency-Key")
    steps: List[str] = data.draw(st.lists(st.sampled_from(["send", "apply"]), max_size=6), label="steps")
    steps = steps + ["send"] * (2 - steps.count("send"))  # at least a request and a repeat
    body = data.draw(PLAIN_BODIES[route], label="body")
    repeats = Repeats(shop, route, body, key)
    for number, step in enumerate(steps):
        if step == "send":
            repeats.send(f"step {number}, sent")
        else:
            shop.apply()
    repeats.check()


@fuzz_settings(max(EXAMPLES // 3, 5))
@given(data=st.data())
def test_repeats_of_a_keyed_request_sent_in_parallel_name_one_operation(shop: Shop, data: Any) -> None:
    """The same keyed request sent 2 to 6 times at once, then once more after the worker
    applied it: every answer names the same operation and resource, applied once."""
    route: str = data.draw(st.sampled_from(KEYED_ROUTES), label="route")
    key: str = data.draw(strategies.valid_idempotency_keys(), label="Idempotency-Key")
    count: int = data.draw(st.integers(2, 6), label="sent at once")
    body = data.draw(PLAIN_BODIES[route], label="body")
    repeats = Repeats(shop, route, body, key)
    # DynamoDB applies each request whole; moto, called from threads, needs telling.
    with AtomicCalls(get_services().table.meta.client):
        repeats.parallel(count, "sent in parallel")
    shop.apply()
    repeats.send("sent again once applied")
    repeats.check()
