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

The operations are site and config writes, publishes, and releases taken through their
life (created, approved, published, reverted, cancelled), on a site that publishes
directly or by review (with one approval). A release's operations are one message group
and its pages are others': a publication races the writes of its pages, and what it
finds depends on the interleaving. The model applies the operations in the order the
worker finished them (the first write that recorded how each ended, as the test's hooks
on the table client saw it), so it predicts which create wins a page, and whether a
release finds its pages as it named them.

After the queue drains, every accepted operation has the status the model gives it, or
is in the dead-letter queue and marked failed (`DeliveryFailed`); the table holds what
the model holds: each config's versions, what each page serves (every page of a
published release, or none), each release's status, and one audit entry per applied
operation (and per release failure, which is recorded on the release). Then the dead
letters are redriven (through `POST /admin/redrive`) with the faults gone, and the same
holds with no dead letters left but the poison.

The defined outcome of a redrive: the message returns to the back of its group, so the
operation is applied after everything accepted for its resource since, against the state
then, and the last write accepted wins. An update or delete of a config already gone
fails as `NotFound`; one accepted before the last operation applied to its resource
(config or site) fails as `Superseded` and changes nothing; an update with If-Match fails
as `PreconditionFailed` if anything was applied in between; a create whose page was taken
meanwhile fails as `Conflict`; a release's publication whose config was deleted
meanwhile fails as `ReleaseFailed` and changes no page; a revert after one of its pages
changed fails as `PageChangedSince`. Either way it is applied once, and its status says
what happened.

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
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from tests.helpers import Call, Crash, EventTap, Faults, assert_error, scheduled_event

PAGES = ("home", "about", "blog")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INVOCATIONS = 300
_sites = itertools.count()
# An operation's record, as a write names its key.
OPERATION_KEY = re.compile(r'"OP#([^"]+)"')


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
        """A transaction that applies a doomed operation: it writes the operation's record
        and an audit entry (the record of a failure alone goes through)."""
        text = call.text
        return '"AUDIT#' in text and any(mark in text for mark in self.doomed)

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
    # The version the page serves (None: none; a site that publishes directly serves the
    # latest, until a publish of another one), the operation that made it serve that, and
    # each version's content.
    published: Optional[int] = 1
    published_by: Optional[str] = None
    contents: Dict[int, Tuple[str, Dict[str, Any]]] = field(default_factory=dict)


@dataclass
class ReleaseState:
    id: str
    # (config id, version, page)
    items: List[Tuple[str, int, str]]
    status: str
    version: int = 1
    approvals: int = 0
    # (config id, page, the version the page served) when it went live
    served_before: List[Tuple[str, str, Optional[int]]] = field(default_factory=list)
    published_by: Optional[str] = None


PENDING = ("open", "approved", "scheduled")


@dataclass
class Accepted:
    operation_id: str
    kind: str
    target: str  # the config id, the release id, or the site slug
    group: str
    page: str = ""
    layout: str = ""
    n: int = 0
    expected: Optional[int] = None
    doomed: bool = False
    items: List[Tuple[str, int, str]] = field(default_factory=list)

    @property
    def accepted_at(self) -> datetime:
        """When the API accepted it (what its id carries, and its submittedAt)."""
        accepted = operation_accepted_at(self.operation_id)
        assert accepted is not None
        return accepted


class Failed(Exception):
    """How the contract says an operation ends when it changes nothing; `audited`: it
    records its failure on its resource, with an audit entry (a release that failed)."""

    def __init__(self, code: str, audited: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.audited = audited


@dataclass
class Model:
    """The contract, applied to accepted operations in the order the worker applied them.

    A `review` site requires one approval: configs are published through releases only."""

    site: str
    review: bool = False
    site_name: str = ""
    site_version: int = 0
    configs: Dict[str, ConfigState] = field(default_factory=dict)
    pages: Dict[str, str] = field(default_factory=dict)
    releases: Dict[str, ReleaseState] = field(default_factory=dict)
    # operationId -> (status, error code or None, version or None)
    outcomes: Dict[str, Tuple[str, Optional[str], Optional[int]]] = field(default_factory=dict)
    # Failed operations that wrote an audit entry with their failure.
    audited_failures: Set[str] = field(default_factory=set)
    # The site slug or config id -> when the operation last applied to it was accepted.
    last_applied: Dict[str, datetime] = field(default_factory=dict)
    # The config id -> when the operation that last changed what its page serves was accepted.
    last_published: Dict[str, datetime] = field(default_factory=dict)

    @property
    def required_approvals(self) -> int:
        return 1 if self.review else 0

    def apply(self, op: Accepted) -> None:
        try:
            version = getattr(self, f"_apply_{op.kind}")(op)
        except Failed as failed:
            self.outcomes[op.operation_id] = ("failed", failed.code, None)
            if failed.audited:
                self.audited_failures.add(op.operation_id)
        else:
            self.outcomes[op.operation_id] = ("succeeded", None, version)

    # sites and configs

    def _apply_site(self, op: Accepted) -> int:
        if op.accepted_at < self.last_applied.get(op.target, EPOCH):
            raise Failed("Superseded")
        self.last_applied[op.target] = op.accepted_at
        self.site_name, self.site_version = op.layout, self.site_version + 1
        return self.site_version

    def _apply_create(self, op: Accepted) -> int:
        if op.page in self.pages:
            raise Failed("Conflict")  # another config took the page first
        self.add_config(op.target, op.page, op.layout, {"n": op.n}, op.operation_id, op.accepted_at)
        return 1

    def add_config(
        self, config_id: str, page: str, layout: str, settings: Dict[str, Any], operation_id: str, at: datetime
    ) -> None:
        direct = not self.review
        self.configs[config_id] = ConfigState(
            config_id,
            page,
            layout,
            settings,
            1,
            history=[(1, layout, operation_id)],
            published=1 if direct else None,
            published_by=operation_id if direct else None,
            contents={1: (layout, settings)},
        )
        self.pages[page] = config_id
        self.last_applied[config_id] = at
        if direct:
            self.last_published[config_id] = at

    def _live(self, op: Accepted) -> ConfigState:
        config = self.configs.get(op.target)
        if config is None or config.deleted:
            raise Failed("NotFound")
        return config

    def _latest(self, op: Accepted) -> ConfigState:
        """The config an update or delete changes, when nothing accepted later was applied
        to it (or, on a site that publishes directly, to what its page serves) first."""
        config = self._live(op)
        if op.accepted_at < self.last_applied.get(op.target, EPOCH):
            raise Failed("Superseded")
        if not self.review and op.accepted_at < self.last_published.get(op.target, EPOCH):
            raise Failed("Superseded")  # the site publishes directly: writes move the page too
        if op.expected is not None and op.expected != config.version:
            raise Failed("PreconditionFailed")
        return config

    def _apply_update(self, op: Accepted) -> int:
        config = self._latest(op)
        self.last_applied[op.target] = op.accepted_at
        config.version += 1
        config.layout, config.settings = op.layout, {"n": op.n}
        config.history.append((config.version, op.layout, op.operation_id))
        config.contents[config.version] = (op.layout, {"n": op.n})
        if not self.review:
            self._serve(config, config.version, op)
        return config.version

    def _apply_delete(self, op: Accepted) -> int:
        config = self._latest(op)
        if self.review and config.published is not None:
            raise Failed("StillPublished")
        self.last_applied[op.target] = op.accepted_at
        config.version += 1
        config.deleted = True
        config.history.append((config.version, None, op.operation_id))
        del self.pages[config.page]
        return config.version

    def _apply_publish(self, op: Accepted) -> int:
        config = self._live(op)
        if self.required_approvals:
            raise Failed("ApprovalRequired")
        if op.accepted_at < self.last_published.get(op.target, EPOCH):
            raise Failed("Superseded")
        if op.expected is not None and op.expected != config.published:
            raise Failed("PreconditionFailed")
        self._serve(config, op.n, op)
        return op.n

    def _serve(self, config: ConfigState, version: Optional[int], op: Accepted) -> None:
        config.published, config.published_by = version, op.operation_id
        self.last_published[config.id] = op.accepted_at

    # releases: a release's operations are one group, applied in the order accepted;
    # its pages are other groups', so what a publication finds depends on the interleaving

    def _apply_release(self, op: Accepted) -> int:
        status = "open" if self.required_approvals else "approved"
        self.releases[op.target] = ReleaseState(op.target, list(op.items), status)
        return 1

    def _pending(self, op: Accepted) -> ReleaseState:
        release = self.releases[op.target]
        if release.status not in PENDING:
            raise Failed("ReleaseStateConflict")
        return release

    def _saved(self, release: ReleaseState, status: str) -> int:
        release.status = status
        release.version += 1
        return release.version

    def _apply_approve(self, op: Accepted) -> int:
        release = self._pending(op)
        if release.approvals:
            raise Failed("AlreadyApproved")  # the tests have one reviewer
        release.approvals += 1
        return self._saved(release, "approved")

    def _apply_cancel(self, op: Accepted) -> int:
        return self._saved(self._pending(op), "cancelled")

    def _apply_rpublish(self, op: Accepted) -> int:
        release = self._pending(op)
        if release.approvals < self.required_approvals:
            raise Failed("ApprovalRequired")
        if any(self.pages.get(page) != config_id for config_id, _, page in release.items):
            self._saved(release, "failed")  # a config was deleted: no page changes
            raise Failed("ReleaseFailed", audited=True)
        release.served_before = [
            (config_id, page, self.configs[config_id].published) for config_id, _, page in release.items
        ]
        for config_id, version, _ in release.items:
            self._serve(self.configs[config_id], version, op)
        release.published_by = op.operation_id
        return self._saved(release, "published")

    def _apply_revert(self, op: Accepted) -> int:
        release = self.releases[op.target]
        if release.status != "published":
            raise Failed("ReleaseStateConflict")
        for config_id, page, _ in release.served_before:
            if self.pages.get(page) != config_id or self.configs[config_id].published_by != release.published_by:
                raise Failed("PageChangedSince")
        for config_id, _, version in release.served_before:
            self._serve(self.configs[config_id], version, op)
        return self._saved(release, "reverted")


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
        # The operations of the last drain, in the order the worker finished them: the
        # order of the first write that recorded how each ended.
        self.order: List[str] = []

    def drain(self, plan: Optional[DeliveryPlan]) -> None:
        """Delivers until the queue is empty, with the faults of `plan` (None: none)."""
        queue = self.api.queue
        self.order = []
        if self.faults is not None:
            self.faults.aws.answered.clear()
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
                    self._note_finished()
            self.trace.append(f"{line} -> done; crash_at={crash_at}")
            self.sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            self.finished.extend(messages)
        raise AssertionError(f"the write queue did not drain in {MAX_INVOCATIONS} invocations")

    def _note_finished(self) -> None:
        assert self.faults is not None
        for call in self.faults.aws.answered:
            if call.operation in ("TransactWriteItems", "PutItem", "UpdateItem"):
                for operation_id in OPERATION_KEY.findall(call.text):
                    if operation_id not in self.order:
                        self.order.append(operation_id)
        self.faults.aws.answered.clear()

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
    # create, update, delete, publish, site, poison, settle; and the release's: release
    # (create one), approve, rpublish (publish it), revert, cancel
    kind: str
    page: str = ""
    target: int = 0
    if_match: Optional[str] = None  # None, "current" or "stale"
    doomed: bool = False


if_match = st.sampled_from([None, None, "current", "stale"])
digit = st.sampled_from("0123")
rarely = st.sampled_from([False, False, False, True])
release_steps = st.one_of(
    st.builds(Step, kind=st.just("release"), target=st.integers(0, 3), page=digit, doomed=rarely),
    st.builds(Step, kind=st.sampled_from(["approve", "revert", "cancel"]), target=st.integers(0, 3)),
    st.builds(Step, kind=st.just("rpublish"), target=st.integers(0, 3), doomed=rarely),
)
settle = st.just(Step(kind="settle"))
config_steps = st.one_of(
    st.builds(Step, kind=st.just("create"), page=st.sampled_from(PAGES), doomed=st.booleans()),
    st.builds(Step, kind=st.just("update"), target=st.integers(0, 3), if_match=if_match, doomed=st.booleans()),
    st.builds(Step, kind=st.just("delete"), target=st.integers(0, 3), if_match=if_match),
    st.builds(Step, kind=st.just("publish"), target=st.integers(0, 3), if_match=if_match, page=digit),
)
steps = st.lists(
    st.one_of(
        config_steps,
        st.builds(Step, kind=st.just("site"), doomed=st.booleans()),
        release_steps,
        settle,
        st.just(Step(kind="poison")),
    ),
    min_size=3,
    max_size=12,
)


@st.composite
def release_plans(draw: st.DrawFn) -> List[Step]:
    """Releases taken through their life (created; approved; published; reverted) a
    settle apart, with writes to their pages in between that race each step."""
    writes = st.lists(config_steps, max_size=2)
    plan: List[Step] = draw(writes)
    for _ in range(draw(st.integers(1, 3))):
        plan.append(draw(st.builds(Step, kind=st.just("release"), target=st.integers(0, 3), page=digit)))
        plan += [*draw(writes), Step(kind="settle"), Step(kind="approve", target=-1), Step(kind="settle")]
        plan += [Step(kind="rpublish", target=-1, doomed=draw(rarely)), *draw(writes), Step(kind="settle")]
        if draw(st.booleans()):
            plan += [Step(kind="revert", target=-1), *draw(writes)]
        plan += draw(st.lists(release_steps, max_size=2))
    return plan


plans = st.builds(
    DeliveryPlan,
    dice=st.integers(0, 2**32 - 1).map(random.Random),
    throttle_rate=st.sampled_from([0.2, 0.05, 0.4]),
    crash_rate=st.sampled_from([0.5, 0.0, 0.8]),
    duplicates=st.sampled_from([0.3, 0.0]),
)


class Scenario:
    """One example: a fresh site, the steps, and the checks."""

    def __init__(self, api: Api, faults: WorkerFaults, plan: DeliveryPlan, review: bool) -> None:
        self.api = api
        self.faults = faults
        self.delivery = Delivery(api, faults)
        self.model = Model(site=f"f{next(_sites)}-{random.randrange(16**6):06x}", review=review)
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
        # What a consumer of the bus receives (one rule for the whole run; each example's
        # site is its own).
        self.tap = EventTap(get_services().settings.event_source)

    @property
    def site_fields(self) -> Dict[str, Any]:
        mode = "review" if self.model.review else "direct"
        return {"allowedOrigins": [], "publishMode": mode, "requiredApprovals": self.model.required_approvals}

    # submitting, with the API's answer predicted from the model (what the worker has
    # applied so far: the operations accepted since the last settle are still queued)

    def submit(self, step: Step) -> None:
        n = next(self.counter)
        layout = f"l{n}"
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
        elif step.kind == "release":
            self._submit_release(step, n)
        elif step.kind in ("approve", "rpublish", "revert", "cancel"):
            self._submit_release_action(step)
        else:
            self._submit_change(step, layout, n)

    def _submit_site(self, name: str, doomed: bool) -> None:
        group = f"site:{self.model.site}"
        if group in self.closed_groups:
            return
        body = {"name": name, "cacheMaxAge": 60, **self.site_fields}
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
        if step.kind == "publish" and self.model.required_approvals:
            assert_error(response, 409, "ApprovalRequired")
            return
        if step.if_match == "stale":
            assert response.status_code == 412, response.json_body
            return
        if step.kind == "delete" and self.model.review and config.published is not None:
            assert_error(response, 409, "StillPublished")
            return
        assert response.status_code == 202, response.json_body
        expected = current if step.if_match else None
        op = Accepted(response.json_body["operationId"], step.kind, config.id, group, config.page, layout, n, expected)
        self._accepted(op, step.doomed and step.kind == "update")

    def _submit_release(self, step: Step, n: int) -> None:
        """A release of one or two live configs, each at one of its versions."""
        live = [config for config in self.model.configs.values() if not config.deleted]
        if not live:
            return
        chosen = {live[(step.target + i) % len(live)].id: live[(step.target + i) % len(live)] for i in range(2)}
        configs = list(chosen.values())[: 1 + int(step.page) % 2]
        digit = int(step.page)
        items = [(config.id, (digit + i) % config.version + 1, config.page) for i, config in enumerate(configs)]
        body = {"title": f"r{n}", "items": [{"configId": c, "version": v} for c, v, _ in items]}
        response = self.api.request("POST", f"/sites/{self.model.site}/releases", body, scope="write")
        assert response.status_code == 202, response.json_body
        release_id = response.json_body["id"]
        op = Accepted(response.json_body["operationId"], "release", release_id, f"release:{release_id}", items=items)
        self._accepted(op, step.doomed)

    def _submit_release_action(self, step: Step) -> None:
        known = list(self.model.releases.values())
        if not known:
            return
        release = known[step.target % len(known)]
        group = f"release:{release.id}"
        if group in self.closed_groups:
            return
        action = "publish" if step.kind == "rpublish" else step.kind
        # The reviewer (admin) approves what the editor (write) created.
        scope = "admin" if step.kind == "approve" else "write"
        path = f"/sites/{self.model.site}/releases/{release.id}/{action}"
        response = self.api.request("POST", path, scope=scope)
        if step.kind == "revert":
            refusal = None if release.status == "published" else "ReleaseStateConflict"
        elif release.status not in PENDING:
            refusal = "ReleaseStateConflict"
        elif step.kind == "approve" and release.approvals:
            refusal = "AlreadyApproved"
        elif step.kind == "rpublish" and release.approvals < self.model.required_approvals:
            refusal = "ApprovalRequired"
        else:
            refusal = None
        if refusal:
            assert_error(response, 409, refusal)
            return
        assert response.status_code == 202, response.json_body
        self._accepted(Accepted(response.json_body["operationId"], step.kind, release.id, group), step.doomed)

    def _accepted(self, op: Accepted, doomed: bool) -> None:
        if doomed:
            op.doomed = True
            # Its operation's record is in each of its transactions, and in no other's.
            self.faults.doomed.add(f'"OP#{op.operation_id}"')
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
        dead = {op_id for op_id in dead_letters if self.failure_code(op_id) == "DeliveryFailed"}
        moved = self.api.request("POST", "/admin/redrive").json_body["moved"]
        assert moved == len(dead_letters) + len(self.poison)
        self.delivery.drain(None)
        redriven = [op for op in self.accepted if op.operation_id in dead]
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
        """In the order the worker finished them: each group's in the order accepted,
        the groups interleaved as the deliveries had it. Which of two creates for one
        page wins, and what a release's publication finds of its pages, follow from it."""
        order = self.delivery.order
        unfinished = [op for op in ops if op.operation_id not in order]
        assert not unfinished, (unfinished, "\n".join(self.delivery.trace))
        for op in sorted(ops, key=lambda op: order.index(op.operation_id)):
            self.model.apply(op)

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
            ), (op, found, "\n".join(self.delivery.trace))
            if code == "DeliveryFailed":
                assert op.operation_id in dead_letters, (op, found)
        self.check_site()
        for config in self.model.configs.values():
            self.check_config(config)
        for release in self.model.releases.values():
            self.check_release(release)
        listed = self.api.request("GET", f"/metadata?site={self.model.site}&limit=100", scope="read").json_body
        assert {item["page"]: item["id"] for item in listed["items"]} == self.model.pages
        self.check_audit()
        # Every change event of what was applied leaves the outbox (sent after its commit):
        # what a fault left there, the sweeper sends a minute later.
        self.sweep()
        unsent = get_services().store.outbox.unsent(datetime.now(UTC) + timedelta(days=1))
        assert [events for events in unsent if events[0].site == self.model.site] == []
        self.check_events()

    def check_events(self) -> None:
        """What a consumer of the bus gets: an event as often as it was sent, the same each
        time (dedupe by id), and each page's events, ordered by `sequence`, ending with
        what the page serves now."""
        received: Dict[str, Dict[str, Any]] = {}
        for sent in self.tap.events():
            if sent["site"] == self.model.site:
                assert received.setdefault(sent["id"], sent) == sent, "\n".join(self.delivery.trace)
        for config in self.model.configs.values():
            mine = [e for e in received.values() if e.get("configId") == config.id and e["type"].startswith("page.")]
            sequences = [e["sequence"] for e in mine]
            assert len(set(sequences)) == len(sequences), (mine, "\n".join(self.delivery.trace))
            last = max(mine, key=lambda e: e["sequence"]) if mine else None
            if config.deleted:
                assert last is None or last["type"] in ("page.deleted", "page.unpublished"), (config, mine)
            elif config.published is None:
                assert last is None or last["type"] == "page.unpublished", (config, mine)
            else:
                assert last is not None, (config, "\n".join(self.delivery.trace))
                assert (last["type"], last["version"], last["etag"]) == (
                    "page.published",
                    config.published,
                    f'"{config.id}.{config.published}"',
                ), (config, mine, "\n".join(self.delivery.trace))

    def sweep(self) -> None:
        """`send_unsent_events` as its schedule runs it, a couple of minutes on."""
        services = get_services()
        later = datetime.now(UTC) + timedelta(minutes=2)
        clock, services.clock = services.clock, lambda: later
        try:
            self.api.client.lambda_.invoke("send_unsent_events", scheduled_event(self.api))
        finally:
            services.clock = clock

    def check_audit(self) -> None:
        """Each applied operation has exactly one audit entry, and so has a failure recorded
        on its release; one that changed nothing, none."""
        entries: List[str] = []
        cursor = ""
        while True:
            page = self.api.request("GET", f"/sites/{self.model.site}/audit?limit=100{cursor}").json_body
            entries.extend(entry["operationId"] for entry in page["items"])
            if page["nextCursor"] is None:
                break
            cursor = f"&cursor={page['nextCursor']}"
        audited = [
            op.operation_id
            for op in self.accepted
            if self.model.outcomes[op.operation_id][0] == "succeeded" or op.operation_id in self.model.audited_failures
        ]
        assert sorted(entries) == sorted(audited + self.started), "\n".join(self.delivery.trace)

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
            assert stored.get("publishedVersion") == config.published
            page = self.api.request("GET", f"/sites/{self.model.site}/pages/{config.page}", scope=None)
            if config.published is None:
                assert page.status_code == 404, page.json_body
            else:
                layout, settings = config.contents[config.published]
                served = (page.json_body["layout"], page.json_body["settings"], page.json_body["version"])
                assert served == (layout, settings, config.published)
        versions = self.api.request("GET", f"/metadata/{config.id}/versions?limit=100", scope="read").json_body
        history = [(item["version"], item.get("layout"), item["operationId"]) for item in reversed(versions["items"])]
        # Every applied operation once, in order: nothing lost, nothing applied twice.
        assert history == config.history

    def check_release(self, release: ReleaseState) -> None:
        """Its status, and every page of it live or none: what each serves is checked with its config."""
        response = self.api.request("GET", f"/sites/{self.model.site}/releases/{release.id}", scope="read")
        assert response.status_code == 200, response.json_body
        found = response.json_body
        assert (found["status"], found["version"], len(found["approvals"])) == (
            release.status,
            release.version,
            release.approvals,
        ), (release, found)


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
    model = scenario.model
    model.site_name = "first"
    model.site_version = 1
    site_put = api.create_site(model.site, name="first", **scenario.site_fields)
    created = api.write("POST", "/metadata", {"site": model.site, "page": "home", "layout": "l0", "theme": "t"})
    assert created["status"] == "succeeded"
    site_accepted = operation_accepted_at(site_put["operationId"])
    config_accepted = operation_accepted_at(created["operationId"])
    assert site_accepted is not None
    assert config_accepted is not None
    model.last_applied[model.site] = site_accepted
    model.add_config(created["resourceId"], "home", "l0", {}, created["operationId"], config_accepted)
    scenario.started = [site_put["operationId"], created["operationId"]]


def run(api: Api, faults: WorkerFaults, plan: List[Step], delivery: DeliveryPlan, review: bool) -> None:
    scenario = Scenario(api, faults, delivery, review)
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
    outcomes = scenario.model.outcomes
    superseded = sum(code == "Superseded" for _, code, _ in outcomes.values())
    event(f"superseded: {'some' if superseded else 'none'}")
    event(f"crashes: {'some' if faults.crashed else 'none'}")
    event(f"throttled calls: {'some' if faults.throttled else 'none'}")
    event(f"mode: {'review' if review else 'direct'}")
    ended = {(op.kind, outcomes[op.operation_id][1]) for op in scenario.accepted if op.kind in ("rpublish", "revert")}
    for kind, code in sorted(ended, key=str):
        event(f"release {kind}: {code or 'succeeded'}")


fault_settings = settings(
    max_examples=int(os.environ.get("FAULT_EXAMPLES", "30")),
    # `make test` runs the same examples every time; `make fuzz` draws fresh ones.
    derandomize=os.environ.get("FAULT_RANDOM") != "1",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@fault_settings
@given(plan=steps, delivery=plans, review=st.booleans())
def test_every_accepted_operation_is_applied_once_or_dead_lettered_and_failed(
    api: Api, faults: WorkerFaults, plan: List[Step], delivery: DeliveryPlan, review: bool
) -> None:
    run(api, faults, plan, delivery, review)


# A release plan is long (three settles a release): each example keeps more of moto's
# state, so `make fuzz` runs fewer of them (FAULT_RELEASE_EXAMPLES) to stay in memory.
@settings(fault_settings, max_examples=int(os.environ.get("FAULT_RELEASE_EXAMPLES", "30")))
@given(plan=release_plans(), delivery=plans, review=st.booleans())
def test_a_release_is_published_and_reverted_whole_or_not_at_all(
    api: Api, faults: WorkerFaults, plan: List[Step], delivery: DeliveryPlan, review: bool
) -> None:
    """The same checks, on plans made mostly of releases: every page of a release serves
    its version after the publication, or none does; a revert puts back all of them."""
    run(api, faults, plan, delivery, review)
