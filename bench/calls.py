"""AWS calls per request type, counted through botocore's hooks on the functions' own
sessions, each call attributed to the function that made it (the authorizer apart), with
the API and the worker run as in the tests: `chalice.test.Client` against moto.

Floors: a public read is one read call (two for a config by id and for a preview; for
a site's manifest and bundle, one `Query` per MB of its pages' items); a
write request one `SendMessage` and at most one read (a `BatchGetItem` counts as one; two
where the config must be read before its page or site is known, and for a release); a
worker operation at most one read and one transaction (two reads for a release's
publication or revert), and when it changes what a site serves, one `PutEvents` for its
change events and one `BatchWriteItem` that lets them go from the outbox. The
authorizer's `GetItem` of the token is its own function's, and API Gateway caches its
answer for 60 seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import boto3
from botocore import handlers

READS = frozenset({"GetItem", "BatchGetItem", "Query"})
# The site the manifest and the bundle are measured on, against a page request per page.
SITE_PAGES = 100
SITE_SETTINGS = {"hero": {"title": "Summer sale", "image": "/img/summer.jpg"}, "productsPerRow": 4}
TRANSACTIONS = frozenset({"TransactWriteItems"})
AUTHORIZER = "token_authorizer"
WORKER = "apply_writes"


@dataclass(frozen=True)
class Calls:
    request: str
    kind: str  # public read, read, write, worker
    calls: Tuple[str, ...]  # service:Operation, by the function itself
    authorizer: Tuple[str, ...]

    @property
    def reads(self) -> int:
        return sum(call.split(":")[1] in READS for call in self.calls)

    @property
    def transactions(self) -> int:
        return sum(call.split(":")[1] in TRANSACTIONS for call in self.calls)

    @property
    def sends(self) -> int:
        return sum(call == "sqs:SendMessage" for call in self.calls)

    @property
    def over_floor(self) -> Optional[str]:
        """Why this request type is above its floor, or None."""
        others = [c for c in self.calls if c.split(":")[1] not in READS | TRANSACTIONS and c != "sqs:SendMessage"]
        if "Idempotency-Key" in self.request and self.calls.count("dynamodb:PutItem") == 1:
            # A keyed write claims its key: one conditional PutItem, the floor for exact
            # repeats (docs/data-model.md).
            others.remove("dynamodb:PutItem")
        if self.kind == "public read":
            # A config by id: its item names its page, whose item holds what it serves; a
            # preview checks its token (or link) first.
            reads = 2 if self.request.startswith(("GET /metadata/{id}", "GET /preview/")) else 1
            ok = self.reads <= reads and not others and not self.transactions and not self.sends
            return None if ok else "more reads than its floor"
        if self.kind == "write":
            # A write to a config by id reads the config first: only then is its site, and
            # so the layout's schema, known (docs/data-model.md).
            # A schema's write reads its site and schema, then its layout's pages (one Query
            # per 100 pages) for the impact report.
            # Publishing, unpublishing and deleting read the config, then its page and site;
            # a release reads its site, then every config and version it names.
            two = ("PUT /metadata/{id}", "PUT /sites/{site}/schemas", "POST /metadata/{id}/", "DELETE /metadata/{id}")
            reads = 2 if self.request.startswith(two) or self.request == "POST /sites/{site}/releases" else 1
            ok = self.sends == 1 and self.reads <= reads and not self.transactions and not others
            return None if ok else "more reads than its floor besides SendMessage"
        if self.kind == "worker":
            # Publishing or reverting a release reads it, then every page and version it names.
            reads = 2 if self.request.startswith(("worker: release.publish", "worker: release.revert")) else 1
            # Its change events: one PutEvents, one Query of the site's webhooks (and one
            # SendMessageBatch to the delivery queue when it has some), then one
            # BatchWriteItem off the outbox.
            fanout = ("events:PutEvents", "dynamodb:BatchWriteItem", "sqs:SendMessageBatch")
            sent = [c for c in others if c not in fanout]
            events = max(others.count(call) for call in fanout)
            reads += 1 if "events:PutEvents" in others else 0
            ok = self.reads <= reads and self.transactions <= 1 and not self.sends and not sent and events <= 1
            return None if ok else "more calls than its floor"
        return None


class CallCounter:
    def __init__(self) -> None:
        self.seen: List[Tuple[Optional[str], str]] = []

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        """Counts the calls of every botocore session made meanwhile (botocore's own
        handler registry, as moto uses it: the app needs no hook)."""
        handler = ("before-call", self._count)
        handlers.BUILTIN_HANDLERS.append(handler)
        try:
            yield
        finally:
            handlers.BUILTIN_HANDLERS.remove(handler)

    def _count(self, model: Any, **_: Any) -> None:
        from tests.aws_calls import _running

        self.seen.append((_running.get(), f"{model.service_model.endpoint_prefix}:{model.name}"))

    @contextlib.contextmanager
    def window(self) -> Iterator[List[Tuple[Optional[str], str]]]:
        start = len(self.seen)
        found: List[Tuple[Optional[str], str]] = []
        yield found
        found.extend(self.seen[start:])


@dataclass(frozen=True)
class Answer:
    """One kind of request on the site of SITE_PAGES pages: how many requests it takes,
    the bytes of their answers (status line and headers, and body), and the table calls."""

    request: str
    requests: int
    header_bytes: int
    body_bytes: int
    calls: Tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + self.body_bytes


@dataclass(frozen=True)
class Measured:
    calls: List[Calls]
    site: List[Answer]


def measure() -> Measured:
    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")  # noqa: S106 (moto)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    counter = CallCounter()
    with mock_aws(), counter.counting():
        return _measure(counter)


def _measure(counter: CallCounter) -> Measured:
    from chalice.test import Client

    from chalicelib import access as auth
    from chalicelib.services import get_services, reset_services
    from devstack.poller import lambda_sqs_event
    from infra.resources import PROJECT_DIR, StageResources, provision
    from tests.aws_calls import attribute_calls

    resources = StageResources.for_stage("local")
    provisioned = provision(boto3.session.Session(), resources)
    os.environ.update(resources.environment())
    # As deployed: the template gives the functions the queue's URL (no GetQueueUrl).
    os.environ["QUEUE_URL"] = provisioned.queue_url
    reset_services()  # services built from now on have their calls counted
    from app import app

    attribute_calls(app)
    get_services().logger.setLevel(logging.ERROR)  # the table is the output, not the logs
    token = auth.issue_token(get_services().store.tokens, "bench", "admin")[0]
    sqs = boto3.client("sqs")
    results: List[Calls] = []
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:

        def call(method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
            all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
            raw = json.dumps(body).encode() if body is not None else b""
            return client.http.request(method, path, headers=all_headers, body=raw)

        def request(name: str, kind: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
            with counter.window() as seen:
                response = call(method, path, body, headers)
            assert response.status_code < 400, (name, response.status_code, response.body)
            results.append(_calls(name, kind, seen))
            return response

        def worker(name: str) -> None:
            """Applies the one queued message, counting the worker's calls for it."""
            messages = sqs.receive_message(
                QueueUrl=provisioned.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            )["Messages"]
            assert len(messages) == 1
            with counter.window() as seen:
                client.lambda_.invoke(WORKER, lambda_sqs_event(messages, provisioned.queue_arn, "us-east-1"))
            sqs.delete_message(QueueUrl=provisioned.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            results.append(_calls(name, "worker", seen))

        request("PUT /sites/{site}", "write", "PUT", "/sites/bench", {"name": "Bench", "allowedOrigins": []})
        worker("worker: site.put")
        body = {"site": "bench", "page": "home", "layout": "a", "theme": "t", "settings": {}}
        created = request("POST /metadata", "write", "POST", "/metadata", body).json_body
        worker("worker: config.create")
        config_id = created["id"]
        request("GET /metadata/{id}", "public read", "GET", f"/metadata/{config_id}")
        page = request("GET /sites/{site}/pages/{page}", "public read", "GET", "/sites/bench/pages/home")
        request(
            "GET /sites/{site}/pages/{page} (304)",
            "public read",
            "GET",
            "/sites/bench/pages/home",
            **{"If-None-Match": page.headers["ETag"]},
        )
        request("OPTIONS /sites/{site}/pages/{page}", "public read", "OPTIONS", "/sites/bench/pages/home")
        request("GET /health", "public read", "GET", "/health")
        request("GET /sites/{site}", "read", "GET", "/sites/bench")
        request("GET /sites", "read", "GET", "/sites")
        request("GET /metadata?site=", "read", "GET", "/metadata?site=bench")
        request("GET /metadata/{id}/versions", "read", "GET", f"/metadata/{config_id}/versions")
        request("GET /operations/{id}", "read", "GET", f"/operations/{created['operationId']}")
        change = {"layout": "b", "theme": "t", "settings": {}}
        request("PUT /metadata/{id}", "write", "PUT", f"/metadata/{config_id}", change)
        worker("worker: config.update")
        request(
            "PUT /metadata/{id} + If-Match + Idempotency-Key",
            "write",
            "PUT",
            f"/metadata/{config_id}",
            {**change, "layout": "c"},
            **{"If-Match": f'"{config_id}.2"', "Idempotency-Key": "bench-1"},
        )
        worker("worker: config.update + Idempotency-Key")
        request("DELETE /metadata/{id}", "write", "DELETE", f"/metadata/{config_id}")
        worker("worker: config.delete")
        schema = {"schema": {"type": "object", "properties": {"hero": {"type": "boolean"}}}}
        request("PUT /sites/{site}/schemas/{layout}", "write", "PUT", "/sites/bench/schemas/a", schema)
        worker("worker: schema.put")
        request("GET /sites/{site}/schemas/{layout}", "read", "GET", "/sites/bench/schemas/a")
        request("GET /sites/{site}/schemas", "read", "GET", "/sites/bench/schemas")
        body = {"site": "bench", "page": "other", "layout": "a", "theme": "t", "settings": {"hero": True}}
        request("POST /metadata (layout with a schema)", "write", "POST", "/metadata", body)
        worker("worker: config.create (layout with a schema)")
        _editorial(request, worker)
        site = _whole_site(call, request, sqs, provisioned, client, counter)
    reset_services()
    return Measured(results, site)


def _whole_site(call: Any, request: Any, sqs: Any, provisioned: Any, client: Any, counter: CallCounter) -> List[Answer]:
    """A site of SITE_PAGES published pages: the manifest and the bundle (and their 304s),
    against fetching every page from the page route."""
    from devstack.poller import QueuePoller

    poller = QueuePoller(sqs, provisioned.queue_url, lambda event: client.lambda_.invoke(WORKER, event))
    origin = "https://hundred.example"
    assert call("PUT", "/sites/hundred", {"name": "Hundred", "allowedOrigins": [origin]}).status_code == 202
    poller.drain()
    pages = [f"page-{number:03d}" for number in range(SITE_PAGES)]
    for page in pages:
        body = {"site": "hundred", "page": page, "layout": "hero-grid", "theme": "light", "settings": SITE_SETTINGS}
        assert call("POST", "/metadata", body).status_code == 202
    poller.drain()
    headers = {"Origin": origin}
    manifest = request("GET /sites/{site}/manifest", "public read", "GET", "/sites/hundred/manifest", **headers)
    assert len(manifest.json_body["pages"]) == SITE_PAGES
    tag = manifest.headers["ETag"]
    conditional = {**headers, "If-None-Match": tag}
    request("GET /sites/{site}/manifest (304)", "public read", "GET", "/sites/hundred/manifest", **conditional)
    bundle = request("GET /sites/{site}/bundle", "public read", "GET", "/sites/hundred/bundle", **headers)
    request("GET /sites/{site}/bundle (304)", "public read", "GET", "/sites/hundred/bundle", **conditional)

    def measured(name: str, paths: List[str], extra: Dict[str, str]) -> Answer:
        header_bytes = body_bytes = 0
        with counter.window() as seen:
            for path in paths:
                response = call("GET", path, headers={**headers, **extra})
                assert response.status_code in (200, 304), (path, response.status_code)
                header_bytes += _head_size(response)
                body_bytes += len(response.body or b"")
        own = tuple(call for function, call in seen if function != AUTHORIZER)
        return Answer(name, len(paths), header_bytes, body_bytes, own)

    page_paths = [f"/sites/hundred/pages/{page}" for page in pages]
    tags = [call("GET", path).headers["ETag"] for path in page_paths]
    answers = [
        measured("every page from the page route", page_paths, {}),
        measured("GET /sites/{site}/bundle", ["/sites/hundred/bundle"], {}),
        measured("GET /sites/{site}/manifest", ["/sites/hundred/manifest"], {}),
        measured("GET /sites/{site}/manifest, unchanged (304)", ["/sites/hundred/manifest"], {"If-None-Match": tag}),
    ]
    # What each page costs revalidated on its own: a 304 per page.
    header_bytes = 0
    with counter.window() as seen:
        for path, page_tag in zip(page_paths, tags, strict=True):
            response = call("GET", path, headers={**headers, "If-None-Match": page_tag})
            assert response.status_code == 304
            header_bytes += _head_size(response)
    own = tuple(call for function, call in seen if function != AUTHORIZER)
    answers.insert(1, Answer("every page from the page route, unchanged (304s)", SITE_PAGES, header_bytes, 0, own))
    assert bundle.headers["ETag"] == tag
    return answers


def _head_size(response: Any) -> int:
    """The status line and headers as an HTTP/1.1 server writes them (without its own
    Date and Server headers)."""
    lines = [f"HTTP/1.1 {response.status_code} X"] + [f"{name}: {value}" for name, value in response.headers.items()]
    length = len(response.body or b"")
    if "content-length" not in {name.lower() for name in response.headers} and response.status_code != 304:
        lines.append(f"Content-Length: {length}")
    return len(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def _editorial(request: Any, worker: Any) -> None:
    """Drafts, publishing, previews, releases and the audit trail, on a `review` site."""
    site = {"name": "Review", "allowedOrigins": [], "publishMode": "review"}
    request("PUT /sites/{site} (review)", "write", "PUT", "/sites/review", site)
    worker("worker: site.put (review)")
    body = {"site": "review", "page": "home", "layout": "a", "theme": "t", "settings": {}}
    config_id = request("POST /metadata (a draft)", "write", "POST", "/metadata", body).json_body["id"]
    worker("worker: config.create (a draft)")
    request("POST /metadata/{id}/publish", "write", "POST", f"/metadata/{config_id}/publish", {"version": 1})
    worker("worker: config.publish")
    change = {"layout": "b", "theme": "t", "settings": {"x": 1}}
    request("PUT /metadata/{id} (a draft)", "write", "PUT", f"/metadata/{config_id}", change)
    worker("worker: config.update (a draft)")
    request("GET /metadata/{id}/draft", "read", "GET", f"/metadata/{config_id}/draft")
    request("GET /metadata/{id}/diff", "read", "GET", f"/metadata/{config_id}/diff")
    link = request("POST /metadata/{id}/preview-links", "write", "POST", f"/metadata/{config_id}/preview-links", {})
    worker("worker: preview.create")
    request("GET /metadata/{id}/preview-links", "read", "GET", f"/metadata/{config_id}/preview-links")
    request("GET /preview/sites/{site}/pages/{page}?token=", "public read", "GET", link.json_body["url"])
    items = [{"configId": config_id, "version": 2}]
    created = request(
        "POST /sites/{site}/releases", "write", "POST", "/sites/review/releases", {"title": "R", "items": items}
    )
    worker("worker: release.create")
    release = created.json_body["id"]
    request("GET /sites/{site}/releases/{release}", "read", "GET", f"/sites/review/releases/{release}")
    request(
        "POST /sites/{site}/releases/{release}/publish", "write", "POST", f"/sites/review/releases/{release}/publish"
    )
    worker("worker: release.publish")
    request("POST /sites/{site}/releases/{release}/revert", "write", "POST", f"/sites/review/releases/{release}/revert")
    worker("worker: release.revert")
    request("POST /metadata/{id}/unpublish", "write", "POST", f"/metadata/{config_id}/unpublish")
    worker("worker: config.unpublish")
    request("GET /sites/{site}/audit", "read", "GET", "/sites/review/audit")


def _calls(name: str, kind: str, seen: List[Tuple[Optional[str], str]]) -> Calls:
    own = tuple(call for function, call in seen if function != AUTHORIZER)
    by_authorizer = tuple(call for function, call in seen if function == AUTHORIZER)
    return Calls(name, kind, own, by_authorizer)


def summary(calls: Calls) -> str:
    return summary_of(calls.calls)


def summary_of(seen: Tuple[str, ...]) -> str:
    counted = Counter(call.split(":")[1] for call in seen)
    return ", ".join(f"{n} x {op}" if n > 1 else op for op, n in counted.items()) or "none"
