"""The worker under injected faults, with operation sequences and deliveries that
hypothesis generates; the outcome is compared with a pure-Python model of the contract.

Each example accepts operations through the API, then delivers the write queue to the
worker (through `client.lambda_.invoke`, with SQS events built from the real moto queue)
as Lambda's event source would, while faults are injected:

- throttling: a fraction of the worker's DynamoDB calls fail with
  ProvisionedThroughputExceededException;
- crashes: the invocation dies (as on a timeout or out of memory) just before or just
  after its k-th DynamoDB call, so a transaction may be committed and its message not
  deleted; the batch comes back;
- redelivery: copies of messages already finished come back in later batches, and a
  message may appear twice in one batch;
- reordering: the messages of different groups reach the worker in any interleaving.
  Within a group SQS FIFO never hands a message out before an earlier unfinished one,
  so that is never generated;
- a message that always fails: its transaction is refused on every receive until it
  goes to the dead-letter queue; and a poison message that never parses.

After the queue drains, every accepted operation has the status the model gives it, or
is in the dead-letter queue and marked failed (`DeliveryFailed`); the table holds what
the model holds. Then the dead letters are redriven (through `POST /admin/redrive`)
with the faults gone, and the same holds with no dead letters left but the poison.

The defined outcome of a redrive: the message returns to the back of its group, so the
operation is applied after everything accepted for its resource since, against the state
then, and the last write accepted wins. An update or delete of a config already gone
fails as `NotFound`; one accepted before the last operation applied to its resource
(config or site) fails as `Superseded` and changes nothing; an update with If-Match fails
as `PreconditionFailed` if anything was applied in between; a create whose page was taken
meanwhile fails as `Conflict`. Either way it is applied once, and its status says what
happened.

Two limits of the fault model keep it to what the service promises:

- random faults (throttling, crashes) strike only batches whose messages are all within
  their first `MAX_RECEIVE_COUNT - 2` receives, so they delay a message but never use up
  its receives; only the message made to always fail reaches the dead-letter queue;
- a message made to always fail is the last of its group until that group drains: a
  later message of the group, received in the same batches and held back behind it,
  would use up its receives too (see `test_faults_fifo.py`).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Dict, List, Optional, Set, Tuple

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.core.ids import operation_accepted_at
from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from devstack.poller import lambda_sqs_event
from infra.resources import StageResources, provision
from tests.conftest import REGION, STAGE, Api
from tests.helpers import Call, Faults

PAGES = ("home", "about", "blog")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INVOCATIONS = 300
_sites = itertools.count()


class Crash(BaseException):
    """The function dies where it stands, as on a Lambda timeout: nothing catches it."""


THROTTLED = "ProvisionedThroughputExceededException"


class WorkerFaults:
    """The faults of one example, as rules on the functions' own table client: the
    transactions of doomed operations are throttled on every receive; and while
    `random_faults` is on (one invocation at a time, see `arm`), calls are throttled at
    `throttle_rate` and the function crashes just before or after the call `crash_at`
    names. Idle unless switched on."""

    def __init__(self, aws: Faults) -> None:
        self.aws = aws
        self.doomed: Set[str] = set()
        self.throttle_rate = 0.0
        self.random_faults = False
        self.chance = random.Random(0)
        self.crash_at: Optional[Tuple[int, str]] = None
        self.throttled = 0
        self.crashed = 0
        # Tried in this order; the first rule that picks a call decides.
        aws.fail(THROTTLED, "TransactWriteItems", when=self._doomed)
        aws.throw(lambda call: Crash(f"before call {call.number}"), when=self._crash_before)
        aws.fail(THROTTLED, when=self._throttle_now)
        aws.throw(lambda call: Crash(f"after call {call.number}"), after=True, when=self._crash_after)

    def arm(self, plan: Optional[DeliveryPlan], records: int) -> None:
        """Before an invocation: its calls count from 1; the plan's faults, if any, are on."""
        self.aws.seen.clear()
        self.crash_at = None
        self.random_faults = plan is not None
        if plan is not None:
            self.throttle_rate = plan.throttle_rate
            self.chance = plan.dice
            if plan.dice.random() < plan.crash_rate:
                self.crash_at = (plan.dice.randint(1, 2 * records), plan.dice.choice(["before", "after"]))

    def disarm(self) -> None:
        self.random_faults = False

    # The predicates below count what they make happen: a rule strikes whenever its
    # predicate answers True.

    def _doomed(self, call: Call) -> bool:
        return any(mark in call.text for mark in self.doomed)

    def _crash_before(self, call: Call) -> bool:
        return self._crashes(call, "before")

    def _crash_after(self, call: Call) -> bool:
        return self._crashes(call, "after")

    def _crashes(self, call: Call, moment: str) -> bool:
        if not self.random_faults or self.crash_at != (call.number, moment):
            return False
        self.crashed += 1
        return True

    def _throttle_now(self, call: Call) -> bool:
        if not self.random_faults or self.chance.random() >= self.throttle_rate:
            return False
        self.throttled += 1
        return True


# --- the model of the contract -------------------------------------------------------------


@dataclass
class ConfigState:
    id: str
    page: str
    layout: str
    settings: Dict[str, Any]
    version: int
    deleted: bool = False
    # (version, layout or None for the deletion, operationId), oldest first.
    history: List[Tuple[int, Optional[str], str]] = field(default_factory=list)
    # The version the page serves (the site publishes directly: the latest, until a
    # publish of another one), and each version's content.
    published: Optional[int] = 1
    contents: Dict[int, Tuple[str, Dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Accepted:
    operation_id: str
    kind: str
    target: str  # the config id, or the site slug
    group: str
    page: str = ""
    layout: str = ""
    n: int = 0
    expected: Optional[int] = None
    doomed: bool = False

    @property
    def accepted_at(self) -> datetime:
        """When the API accepted it (what its id carries, and its submittedAt)."""
        accepted = operation_accepted_at(self.operation_id)
        assert accepted is not None
        return accepted


@dataclass
class Model:
    """The contract, applied to accepted operations in the order they are applied."""

    site: str
    site_name: str = ""
    site_version: int = 0
    configs: Dict[str, ConfigState] = field(default_factory=dict)
    pages: Dict[str, str] = field(default_factory=dict)
    # operationId -> (status, error code or None, version or None)
    outcomes: Dict[str, Tuple[str, Optional[str], Optional[int]]] = field(default_factory=dict)
    # The site slug or config id -> when the operation last applied to it was accepted.
    last_applied: Dict[str, datetime] = field(default_factory=dict)
    # The config id -> when the operation that last changed what its page serves was accepted.
    last_published: Dict[str, datetime] = field(default_factory=dict)

    def outcome_of(self, op: Accepted) -> Tuple[str, Optional[str]]:
        """What applying `op` now would end as (for everything but creates)."""
        if op.kind != "site":
            config = self.configs.get(op.target)
            if config is None or config.deleted:
                return "failed", "NotFound"
        if op.kind != "publish" and op.accepted_at < self.last_applied.get(op.target, EPOCH):
            return "failed", "Superseded"
        if op.kind != "site" and op.accepted_at < self.last_published.get(op.target, EPOCH):
            return "failed", "Superseded"  # the site publishes directly: writes move the page too
        if op.kind == "site":
            return "succeeded", None
        config = self.configs[op.target]
        current = config.published if op.kind == "publish" else config.version
        if op.expected is not None and op.expected != current:
            return "failed", "PreconditionFailed"
        return "succeeded", None

    def apply(self, op: Accepted) -> None:
        status, code = self.outcome_of(op)
        if status != "succeeded":
            self.outcomes[op.operation_id] = (status, code, None)
            return
        if op.kind == "site":
            self.last_applied[op.target] = op.accepted_at
            self.site_name, self.site_version = op.layout, self.site_version + 1
            self.outcomes[op.operation_id] = ("succeeded", None, self.site_version)
            return
        config = self.configs[op.target]
        self.last_published[op.target] = op.accepted_at
        if op.kind == "publish":
            config.published = op.n
            self.outcomes[op.operation_id] = ("succeeded", None, op.n)
            return
        self.last_applied[op.target] = op.accepted_at
        config.version += 1
        if op.kind == "update":
            config.layout, config.settings = op.layout, {"n": op.n}
            config.history.append((config.version, op.layout, op.operation_id))
            config.contents[config.version] = (op.layout, {"n": op.n})
            config.published = config.version
        else:
            config.deleted = True
            config.history.append((config.version, None, op.operation_id))
            del self.pages[config.page]
        self.outcomes[op.operation_id] = ("succeeded", None, config.version)

    def create(self, op: Accepted) -> None:
        self.configs[op.target] = ConfigState(
            op.target,
            op.page,
            op.layout,
            {"n": op.n},
            1,
            history=[(1, op.layout, op.operation_id)],
            contents={1: (op.layout, {"n": op.n})},
        )
        self.pages[op.page] = op.target
        self.outcomes[op.operation_id] = ("succeeded", None, 1)
        self.last_applied[op.target] = self.last_published[op.target] = op.accepted_at


# --- delivering the queue as Lambda's event source does ------------------------------------


class Delivery:
    """Delivers the write queue to the worker until it drains, releasing what an
    invocation did not finish; with `faults`, a plan's faults strike each invocation."""

    def __init__(self, api: Api, faults: Optional[WorkerFaults] = None) -> None:
        self.api = api
        self.faults = faults
        self.sqs = api.queue.sqs
        self.max_receive_count = get_services().settings.max_receive_count
        self.finished: List[Dict[str, Any]] = []
        # What each invocation got and how it ended, shown when a check fails.
        self.trace: List[str] = []

    def drain(self, plan: Optional[DeliveryPlan]) -> None:
        """Delivers until the queue is empty, with the faults of `plan` (None: none)."""
        queue = self.api.queue
        for _ in range(MAX_INVOCATIONS):
            messages = queue.receive()
            if not messages:
                return
            records = self._arrange(messages, plan)
            fresh = all(int(m["Attributes"]["ApproximateReceiveCount"]) <= self.max_receive_count - 2 for m in messages)
            if self.faults is not None:
                self.faults.arm(plan if fresh else None, len(records))
            crash_at = self.faults.crash_at if self.faults is not None else None
            event = lambda_sqs_event(records, self.api.stack.queue_arn, REGION)
            line = [_describe(record) for record in records]
            try:
                self.api.client.lambda_.invoke("apply_writes", event)
            except (Crash, BatchIncomplete) as exc:
                self.trace.append(f"{line} -> {type(exc).__name__} {exc}; crash_at={crash_at}")
                queue.release(messages)
                continue
            finally:
                if self.faults is not None:
                    self.faults.disarm()
            self.trace.append(f"{line} -> done; crash_at={crash_at}")
            self.sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            self.finished.extend(messages)
        raise AssertionError(f"the write queue did not drain in {MAX_INVOCATIONS} invocations")

    def _arrange(self, messages: List[Dict[str, Any]], plan: Optional[DeliveryPlan]) -> List[Dict[str, Any]]:
        """Any interleaving of groups, duplicates within the batch and copies of messages
        finished earlier; each group's own messages stay in order."""
        if plan is None:
            return messages
        dice = plan.dice
        records = list(messages)
        records += [dice.choice(messages) for _ in range(2) if dice.random() < plan.duplicates]
        records += [dice.choice(self.finished) for _ in range(2) if self.finished and dice.random() < plan.duplicates]
        dice.shuffle(records)
        # Put this batch's messages (and their copies) back in each group's FIFO order, in
        # the slots the shuffle gave that group: SQS never hands out a message, or a copy
        # of it, before an earlier unfinished one of its group. Copies of messages
        # finished earlier may sit anywhere.
        rank = {message["MessageId"]: index for index, message in enumerate(messages)}
        slots: Dict[str, List[int]] = {}
        for position, record in enumerate(records):
            if record["MessageId"] in rank:
                slots.setdefault(record["Attributes"].get("MessageGroupId", ""), []).append(position)
        for positions in slots.values():
            in_order = sorted((records[p] for p in positions), key=lambda record: rank[record["MessageId"]])
            for position, record in zip(positions, in_order, strict=True):
                records[position] = record
        return records


def _describe(record: Dict[str, Any]) -> str:
    try:
        envelope = json.loads(record["Body"])
        name = f"{envelope['operation']}:{envelope['data'].get('layout') or envelope['data'].get('name') or ''}"
        name += f"@{envelope['meta']['operationId'][-4:]}"
    except ValueError:
        name = "poison"
    return f"{name}#{record['Attributes']['ApproximateReceiveCount']}"


@dataclass
class DeliveryPlan:
    """How often each fault strikes; the dice are seeded by hypothesis, so a failing
    example runs again the same way."""

    dice: random.Random
    throttle_rate: float
    crash_rate: float
    duplicates: float


# --- the test ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str  # create, update, delete, site, poison, settle
    page: str = ""
    target: int = 0
    if_match: Optional[str] = None  # None, "current" or "stale"
    doomed: bool = False


if_match = st.sampled_from([None, None, "current", "stale"])
steps = st.lists(
    st.one_of(
        st.builds(Step, kind=st.just("create"), page=st.sampled_from(PAGES), doomed=st.booleans()),
        st.builds(Step, kind=st.just("update"), target=st.integers(0, 3), if_match=if_match, doomed=st.booleans()),
        st.builds(Step, kind=st.just("delete"), target=st.integers(0, 3), if_match=if_match),
        st.builds(
            Step, kind=st.just("publish"), target=st.integers(0, 3), if_match=if_match, page=st.sampled_from("0123")
        ),
        st.builds(Step, kind=st.just("site"), doomed=st.booleans()),
        st.just(Step(kind="settle")),
        st.just(Step(kind="poison")),
    ),
    min_size=3,
    max_size=12,
)


plans = st.builds(
    DeliveryPlan,
    dice=st.integers(0, 2**32 - 1).map(random.Random),
    throttle_rate=st.sampled_from([0.2, 0.05, 0.4]),
    crash_rate=st.sampled_from([0.5, 0.0, 0.8]),
    duplicates=st.sampled_from([0.3, 0.0]),
)


class Scenario:
    """One example: a fresh site, the steps, and the checks."""

    def __init__(self, api: Api, faults: WorkerFaults, plan: DeliveryPlan) -> None:
        self.api = api
        self.faults = faults
        self.delivery = Delivery(api, faults)
        self.model = Model(site=f"f{next(_sites)}-{random.randrange(16**6):06x}")
        self.pending: List[Accepted] = []
        self.accepted: List[Accepted] = []
        self.closed_groups: Set[str] = set()
        self.poison: List[str] = []
        # The operations `start` applied without faults.
        self.started: List[str] = []
        self.redriven = 0
        faults.crashed = faults.throttled = 0
        self.counter = itertools.count(1)
        faults.doomed.clear()
        fresh_queues(api)
        self.plan = plan

    # submitting, with the API's answer predicted from the model

    def submit(self, step: Step) -> None:
        n = next(self.counter)
        layout = f"doomed-{self.model.site}-{n}" if step.doomed else f"l{n}"
        if step.kind == "site":
            self._submit_site(layout, step.doomed)
        elif step.kind == "create":
            self._submit_create(step.page, layout, n, step.doomed)
        elif step.kind == "poison":
            self.poison.append(f"{{not json {self.model.site} {n}")
            self.delivery.sqs.send_message(
                QueueUrl=self.api.stack.queue_url,
                MessageBody=self.poison[-1],
                MessageGroupId=f"poison-{self.model.site}-{n}",
                MessageDeduplicationId=f"poison-{self.model.site}-{n}",
            )
        else:
            self._submit_change(step, layout, n)

    def _submit_site(self, name: str, doomed: bool) -> None:
        group = f"site:{self.model.site}"
        if group in self.closed_groups:
            return
        body = {"name": name, "allowedOrigins": [], "cacheMaxAge": 60}
        response = self.api.request("PUT", f"/sites/{self.model.site}", body)
        assert response.status_code == 202, response.json_body
        self._accepted(Accepted(response.json_body["operationId"], "site", self.model.site, group, layout=name), doomed)

    def _submit_create(self, page: str, layout: str, n: int, doomed: bool) -> None:
        body = {"site": self.model.site, "page": page, "layout": layout, "theme": "t", "settings": {"n": n}}
        response = self.api.request("POST", "/metadata", body, scope="write")
        if page in self.model.pages:
            assert response.status_code == 409, response.json_body
            return
        assert response.status_code == 202, response.json_body
        config_id = response.json_body["id"]
        op = Accepted(response.json_body["operationId"], "create", config_id, f"config:{config_id}", page, layout, n)
        self._accepted(op, doomed)

    def _submit_change(self, step: Step, layout: str, n: int) -> None:
        known = list(self.model.configs.values())
        if not known:
            return
        config = known[step.target % len(known)]
        group = f"config:{config.id}"
        if group in self.closed_groups:
            return
        headers = {}
        # An update or delete names the latest version; a publish, the one the page serves.
        current = (config.published or 0) if step.kind == "publish" else config.version
        if step.if_match:
            version = current if step.if_match == "current" else current - 1
            headers["If-Match"] = f'"{config.id}.{version}"'
        if step.kind == "update":
            body: Any = {"layout": layout, "theme": "t", "settings": {"n": n}}
            response = self.api.request("PUT", f"/metadata/{config.id}", body, scope="write", headers=headers)
        elif step.kind == "publish":
            n = int(step.page) % config.version + 1  # a version the config has
            body = {"version": n}
            response = self.api.request("POST", f"/metadata/{config.id}/publish", body, scope="write", headers=headers)
        else:
            response = self.api.request("DELETE", f"/metadata/{config.id}", scope="write", headers=headers)
        if config.deleted:
            assert response.status_code == 404, response.json_body
            return
        if step.if_match == "stale":
            assert response.status_code == 412, response.json_body
            return
        assert response.status_code == 202, response.json_body
        expected = current if step.if_match else None
        op = Accepted(response.json_body["operationId"], step.kind, config.id, group, config.page, layout, n, expected)
        self._accepted(op, step.doomed and step.kind == "update")

    def _accepted(self, op: Accepted, doomed: bool) -> None:
        if doomed:
            op.doomed = True
            self.faults.doomed.add(op.layout)
            # Nothing more for this resource until the queue drains: see the module's doc.
            self.closed_groups.add(op.group)
        self.pending.append(op)
        self.accepted.append(op)

    # settling, and comparing with the model

    def settle(self) -> None:
        self.delivery.drain(self.plan)
        dead_letters = self.dead_letters()
        # A dead letter is an operation not applied, marked DeliveryFailed; or a copy of one
        # applied already, whose message came back once more (its deletion failed) and
        # used up its receives: a redrive of it changes nothing.
        dead = {op_id for op_id in dead_letters if self.failure_code(op_id) == "DeliveryFailed"}
        # Only the message made to always fail may end unapplied (see the module's doc).
        assert all(op.doomed for op in self.pending if op.operation_id in dead), "\n".join(self.delivery.trace)
        self.apply_to_model([op for op in self.pending if op.operation_id not in dead])
        for op in self.pending:
            if op.operation_id in dead:
                self.model.outcomes[op.operation_id] = ("failed", "DeliveryFailed", None)
        self.pending.clear()
        self.closed_groups.clear()
        self.check(set(dead_letters))

    def redrive(self) -> None:
        """The faults fixed, the dead letters go back; the poison comes back to them."""
        self.faults.doomed.clear()
        dead_letters = list(self.dead_letters())
        dead = [op_id for op_id in dead_letters if self.failure_code(op_id) == "DeliveryFailed"]
        moved = self.api.request("POST", "/admin/redrive").json_body["moved"]
        assert moved == len(dead_letters) + len(self.poison)
        self.delivery.drain(None)
        redriven = sorted(
            (op for op in self.accepted if op.operation_id in dead), key=lambda op: dead.index(op.operation_id)
        )
        self.redriven = len(redriven)
        self.apply_to_model(redriven)
        self.check(set())
        assert self.dead_letters() == {}

    def dead_letters(self) -> Dict[str, str]:
        """operationId -> body of every message in the dead-letter queue (left there);
        also checks that the only other dead letters are the poison."""
        bodies = [m["Body"] for m in self.api.dead_letters.peek()]
        assert sorted(body for body in bodies if body.startswith("{not json")) == sorted(self.poison)
        return {json.loads(body)["meta"]["operationId"]: body for body in bodies if not body.startswith("{not json")}

    def apply_to_model(self, ops: List[Accepted]) -> None:
        """Each group in order; creates for the same page race across groups, and the
        worker decides who wins: at most one, and the others fail as Conflict."""
        for op in ops:
            if op.kind != "create":
                self.model.apply(op)
        racing: Dict[str, List[Accepted]] = {}
        for op in ops:
            if op.kind == "create":
                racing.setdefault(op.page, []).append(op)
        for page, racers in racing.items():
            statuses = {op.operation_id: self.operation(op.operation_id) for op in racers}
            winners = [op for op in racers if statuses[op.operation_id]["status"] == "succeeded"]
            assert len(winners) <= 1, statuses
            if page in self.model.pages:
                assert winners == [], statuses
            else:
                assert len(winners) == 1, statuses
                self.model.create(winners[0])
            for op in racers:
                if op not in winners:
                    self.model.outcomes[op.operation_id] = ("failed", "Conflict", None)

    def operation(self, operation_id: str) -> Dict[str, Any]:
        response = self.api.request("GET", f"/operations/{operation_id}", scope="write")
        assert response.status_code == 200, response.json_body
        body: Dict[str, Any] = response.json_body
        return body

    def failure_code(self, operation_id: str) -> Optional[str]:
        code: Optional[str] = (self.operation(operation_id).get("error") or {}).get("code")
        return code

    def check(self, dead_letters: Set[str]) -> None:
        assert self.api.queue.receive() == []
        for op in self.accepted:
            found = self.operation(op.operation_id)
            status, code, version = self.model.outcomes[op.operation_id]
            assert (found["status"], (found.get("error") or {}).get("code"), found.get("version")) == (
                status,
                code,
                version,
            ), (op, found)
            if code == "DeliveryFailed":
                assert op.operation_id in dead_letters, (op, found)
        self.check_site()
        for config in self.model.configs.values():
            self.check_config(config)
        listed = self.api.request("GET", f"/metadata?site={self.model.site}&limit=100", scope="read").json_body
        assert {item["page"]: item["id"] for item in listed["items"]} == self.model.pages
        self.check_audit()

    def check_audit(self) -> None:
        """Each applied operation has exactly one audit entry; one that changed nothing, none."""
        entries: List[str] = []
        cursor = ""
        while True:
            page = self.api.request("GET", f"/sites/{self.model.site}/audit?limit=100{cursor}").json_body
            entries.extend(entry["operationId"] for entry in page["items"])
            if page["nextCursor"] is None:
                break
            cursor = f"&cursor={page['nextCursor']}"
        applied = [op.operation_id for op in self.accepted if self.model.outcomes[op.operation_id][0] == "succeeded"]
        assert sorted(entries) == sorted(applied + self.started), "\n".join(self.delivery.trace)

    def check_site(self) -> None:
        response = self.api.request("GET", f"/sites/{self.model.site}", scope="read")
        assert response.status_code == 200
        assert (response.json_body["name"], response.json_body["version"]) == (
            self.model.site_name,
            self.model.site_version,
        )

    def check_config(self, config: ConfigState) -> None:
        response = self.api.request("GET", f"/metadata/{config.id}/draft", scope="read")
        if config.deleted:
            assert response.status_code == 404, response.json_body
        else:
            stored = response.json_body
            assert (stored["layout"], stored["settings"], stored["version"], stored["page"]) == (
                config.layout,
                config.settings,
                config.version,
                config.page,
            )
            assert stored["publishedVersion"] == config.published
            assert config.published is not None
            page = self.api.request("GET", f"/sites/{self.model.site}/pages/{config.page}", scope=None).json_body
            layout, settings = config.contents[config.published]
            assert (page["layout"], page["settings"], page["version"]) == (layout, settings, config.published)
        versions = self.api.request("GET", f"/metadata/{config.id}/versions?limit=100", scope="read").json_body
        history = [(item["version"], item.get("layout"), item["operationId"]) for item in reversed(versions["items"])]
        # Every applied operation once, in order: nothing lost, nothing applied twice.
        assert history == config.history


def fresh_queues(api: Api) -> None:
    """New, empty queues under the same names: nothing an earlier example left in flight
    (its poison, or what a failing one stranded) can come back into this one."""
    sqs = boto3.client("sqs", region_name=REGION)
    for url in (api.stack.queue_url, api.stack.dead_letter_queue_url):
        sqs.delete_queue(QueueUrl=url)
    again = provision(boto3.session.Session(), StageResources.for_stage(STAGE))
    assert (again.queue_url, again.dead_letter_queue_url) == (api.stack.queue_url, api.stack.dead_letter_queue_url)


@pytest.fixture
def faults(table_faults: Faults, quiet_service_logs: None) -> WorkerFaults:
    return WorkerFaults(table_faults)


def start(api: Api, scenario: Scenario) -> None:
    """The site and a first config, applied without faults."""
    site = scenario.model.site
    scenario.model.site_name = "first"
    scenario.model.site_version = 1
    site_put = api.create_site(site, name="first", allowedOrigins=[])
    created = api.write("POST", "/metadata", {"site": site, "page": "home", "layout": "l0", "theme": "t"})
    assert created["status"] == "succeeded"
    for operation in (site_put, created):
        accepted = operation_accepted_at(operation["operationId"])
        assert accepted is not None
        scenario.model.last_applied[operation["resourceId"]] = accepted
        if operation is created:
            scenario.model.last_published[operation["resourceId"]] = accepted
    scenario.model.configs[created["resourceId"]] = ConfigState(
        created["resourceId"],
        "home",
        "l0",
        {},
        1,
        history=[(1, "l0", created["operationId"])],
        contents={1: ("l0", {})},
    )
    scenario.model.pages["home"] = created["resourceId"]
    scenario.started = [site_put["operationId"], created["operationId"]]


@settings(
    max_examples=int(os.environ.get("FAULT_EXAMPLES", "30")),
    # `make test` runs the same examples every time; `make fuzz` draws fresh ones.
    derandomize=os.environ.get("FAULT_RANDOM") != "1",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=steps, delivery=plans)
def test_every_accepted_operation_is_applied_once_or_dead_lettered_and_failed(
    api: Api, faults: WorkerFaults, plan: List[Step], delivery: DeliveryPlan
) -> None:
    scenario = Scenario(api, faults, delivery)
    start(api, scenario)
    for step in plan:
        if step.kind == "settle":
            scenario.settle()
        else:
            scenario.submit(step)
    scenario.settle()
    scenario.redrive()
    event(f"accepted: {min(len(scenario.accepted), 8)}{'+' if len(scenario.accepted) >= 8 else ''}")
    event(f"redriven: {scenario.redriven}")
    superseded = sum(code == "Superseded" for _, code, _ in scenario.model.outcomes.values())
    event(f"superseded: {'some' if superseded else 'none'}")
    event(f"crashes: {'some' if faults.crashed else 'none'}")
    event(f"throttled calls: {'some' if faults.throttled else 'none'}")
