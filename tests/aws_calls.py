"""A pytest plugin that holds every AWS call a Lambda function makes to its IAM policy.

While the suite runs, each call a function of app.py makes (through any botocore session:
the suite registers its check in botocore's handler registry, as moto does, so the app
needs no hook) is turned into what IAM would authorize: an action, a resource
ARN and the request's condition keys. It is checked against the policy generated for
that function from `infra/permissions.py`, for the stage the tests run in:

- a call the policy does not allow fails where it is made, with AccessDenied, as in
  AWS, and fails the run at the end even if something caught the error (reported as
  the failed test `tests/aws_calls.py::every_call_allowed_and_every_permission_used`);
- after a run of the whole suite that passed, every action a function is declared to
  call must have been seen on each of its declared resources, so the policy allows
  nothing no test exercises.

Which function runs is known from Chalice itself: a middleware for the API handler and
the event handlers, and a wrapper around each built-in authorizer. Calls made outside a
function (fixtures, the tests' own clients) are not checked. Under pytest-xdist each
worker sends what it saw to the controller, which does the final check.
"""

from __future__ import annotations

import re
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple
from urllib.parse import urlparse

import pytest
from botocore import handlers
from botocore.exceptions import ClientError
from chalice.app import ChaliceAuthorizer, Request

from chalicelib.store import keys
from infra.functions import API_HANDLER, lambda_functions, load_app
from infra.permissions import PERMISSIONS
from infra.policies import StageArns, grants, policy_document
from infra.resources import StageResources

STAGE = "local"
# moto's account; the policies name resources in any account, so any value would do.
ACCOUNT = "123456789012"
WORKER_OUTPUT_KEY = "aws_calls"
CHECK_NODE_ID = "tests/aws_calls.py::every_call_allowed_and_every_permission_used"

_running: ContextVar[Optional[str]] = ContextVar("aws_calls_running_function", default=None)


# --- what IAM authorizes for a call ----------------------------------------------------


@dataclass(frozen=True)
class IamRequest:
    """One authorization IAM makes for an API call."""

    action: str
    resource: str
    # The partition keys of the items the request touches (dynamodb:LeadingKeys).
    leading_keys: Optional[Tuple[str, ...]] = None
    # The aliases of the KMS key the request uses (kms:ResourceAliases).
    aliases: Tuple[str, ...] = ()
    # The source of the events a PutEvents puts (events:source).
    source: Optional[str] = None


# Batch operations of SQS are authorized as their single-message actions.
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# The parts of a DynamoDB transaction, and the action each is authorized as.
_TRANSACTION_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def iam_requests(service: str, operation: str, params: Mapping[str, Any], region: str) -> List[IamRequest]:
    """What IAM authorizes when `operation` of `service` is called with `params`."""
    if service == "dynamodb":
        return _dynamodb_requests(operation, params, region)
    if service == "sqs":
        return [IamRequest(f"sqs:{_SQS_ACTIONS.get(operation, operation)}", _queue_arn(params, region))]
    if service == "events" and operation == "PutEvents":
        # IAM authorizes each entry: its bus, with its source (events:source).
        puts = {(entry.get("EventBusName") or "default", entry.get("Source")) for entry in params.get("Entries", [])}
        return [
            IamRequest("events:PutEvents", _event_bus_arn(bus, region), source=source) for bus, source in sorted(puts)
        ]
    if service == "kms" and operation in ("Encrypt", "Decrypt"):
        return [_kms_request(operation, params, region)]
    return [IamRequest(f"{service}:{operation}", "*")]


def _kms_request(operation: str, params: Mapping[str, Any], region: str) -> IamRequest:
    """IAM authorizes a key's use on the key's ARN, and a policy may name the key by an alias
    (kms:ResourceAliases). Encrypt names the key; Decrypt does not (the ciphertext does):
    every ciphertext in the tests is sealed under the stage's key, so its alias is the one."""
    key = str(params.get("KeyId") or StageResources.for_stage(STAGE).webhook_key_alias)
    aliases = (key,) if key.startswith("alias/") else ()
    return IamRequest(f"kms:{operation}", f"arn:aws:kms:{region}:{ACCOUNT}:key/a-key-id", aliases=aliases)


def _event_bus_arn(bus: str, region: str) -> str:
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{bus}"


def _table_arn(table: str, region: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"


def _dynamodb_requests(operation: str, params: Mapping[str, Any], region: str) -> List[IamRequest]:
    if operation == "TransactWriteItems":
        return [
            IamRequest(
                f"dynamodb:{_TRANSACTION_PARTS[kind]}",
                _table_arn(part["TableName"], region),
                (_partition_key(part.get("Item") or part["Key"]),),
            )
            for item in params["TransactItems"]
            for kind, part in item.items()
        ]
    if operation == "TransactGetItems":
        return [
            IamRequest(
                "dynamodb:GetItem", _table_arn(item["Get"]["TableName"], region), (_partition_key(item["Get"]["Key"]),)
            )
            for item in params["TransactItems"]
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            IamRequest(f"dynamodb:{operation}", _table_arn(table, region), _batch_leading_keys(request))
            for table, request in params["RequestItems"].items()
        ]
    if "BackupArn" in params:
        return [IamRequest(f"dynamodb:{operation}", str(params["BackupArn"]))]
    if operation == "ListBackups" or "TableName" not in params:
        return [IamRequest(f"dynamodb:{operation}", "*")]
    resource = _table_arn(params["TableName"], region)
    if params.get("IndexName"):
        resource = f"{resource}/index/{params['IndexName']}"
    item = params.get("Item") or params.get("Key")
    leading = (_partition_key(item),) if item else _queried_keys(params)
    return [IamRequest(f"dynamodb:{operation}", resource, leading)]


def _plain(value: Any) -> str:
    """An attribute value as IAM compares it: typed ({"S": "x"}) or as boto3's resource gives it."""
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value.values())))
    return str(value)


def _partition_key(item: Mapping[str, Any]) -> str:
    return _plain(item[keys.PK])


def _batch_leading_keys(request: Any) -> Tuple[str, ...]:
    if isinstance(request, dict):
        return tuple(_partition_key(key) for key in request.get("Keys", []))
    found: List[str] = []
    for write in request:
        part = write.get("PutRequest", {}).get("Item") or write.get("DeleteRequest", {}).get("Key")
        found.append(_partition_key(part))
    return tuple(found)


def _queried_keys(params: Mapping[str, Any]) -> Optional[Tuple[str, ...]]:
    """The partition key a Query asks for (`<pk> = :value` in its key condition)."""
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    key_attribute = keys.GSI1_PK if params.get("IndexName") else keys.PK
    for name, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(name, name) == key_attribute and placeholder in values:
            return (_plain(values[placeholder]),)
    return None


def _queue_arn(params: Mapping[str, Any], region: str) -> str:
    if "QueueUrl" in params:
        account, name = urlparse(str(params["QueueUrl"])).path.strip("/").split("/")[-2:]
        return f"arn:aws:sqs:{region}:{account}:{name}"
    if "QueueName" in params:
        return f"arn:aws:sqs:{region}:{params.get('QueueOwnerAWSAccountId', ACCOUNT)}:{params['QueueName']}"
    return "*"


# --- evaluating a policy ---------------------------------------------------------------


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's matching: '*' is any run of characters (':' and '/' included), '?' one."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _listed(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: Mapping[str, Any], request: IamRequest) -> bool:
    for operator, clauses in condition.items():
        if operator == "StringEquals" and set(clauses) == {"events:source"}:
            if request.source not in _listed(clauses["events:source"]):
                return False
            continue
        if operator == "ForAnyValue:StringEquals" and set(clauses) == {"kms:ResourceAliases"}:
            # As IAM does: ForAnyValue fails when the request has no such key at all.
            if not set(_listed(clauses["kms:ResourceAliases"])) & set(request.aliases):
                return False
            continue
        known = ("ForAllValues:StringEquals", "ForAllValues:StringLike")
        if operator not in known or set(clauses) != {"dynamodb:LeadingKeys"}:
            raise ValueError(f"tests/aws_calls.py cannot evaluate the condition {operator} {clauses}")
        allowed = clauses["dynamodb:LeadingKeys"]
        like = operator.endswith("StringLike")
        # As IAM does: ForAllValues holds when the request has no such key at all.
        for key in request.leading_keys or ():
            if not any(_wildcard(pattern, key) if like else pattern == key for pattern in allowed):
                return False
    return True


def allowing_statements(document: Mapping[str, Any], request: IamRequest) -> List[int]:
    """The indexes of the statements that allow the request (empty: IAM denies it)."""
    allowing: List[int] = []
    for index, statement in enumerate(document["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        if not any(_wildcard(action, request.action, ignore_case=True) for action in _listed(statement["Action"])):
            continue
        if not any(_wildcard(resource, request.resource) for resource in _listed(statement["Resource"])):
            continue
        if _condition_holds(statement.get("Condition", {}), request):
            allowing.append(index)
    return allowing


# --- recording ---------------------------------------------------------------------------


@cache
def _document(function: str) -> Dict[str, Any]:
    return policy_document(function, StageArns(StageResources.for_stage(STAGE), load_app().app_name))


# (function, action, resource, allowed)
CallKey = Tuple[str, str, str, bool]
# (function, statement index, action)
UseKey = Tuple[str, int, str]


class Recorder:
    """What the functions called, and which statements of their policies allowed it."""

    def __init__(self, documents: Callable[[str], Dict[str, Any]] = _document) -> None:
        self._documents = documents
        self.calls: Counter[CallKey] = Counter()
        self.used: Set[UseKey] = set()

    def check(self, function: str, service: str, operation: str, params: Mapping[str, Any], region: str) -> None:
        """Records the call; raises AccessDenied, as IAM would, if the policy does not allow it."""
        for request in iam_requests(service, operation, params, region):
            allowing = allowing_statements(self._documents(function), request) if function in PERMISSIONS else []
            for index in allowing:
                self.used.add((function, index, request.action))
            self.calls[(function, request.action, request.resource, bool(allowing))] += 1
            if not allowing:
                raise _access_denied(function, request, operation)

    def to_output(self) -> Dict[str, Any]:
        return {"calls": [[*key, count] for key, count in self.calls.items()], "used": [list(key) for key in self.used]}

    def merge(self, output: Mapping[str, Any]) -> None:
        for function, action, resource, allowed, count in output.get("calls", []):
            self.calls[(function, action, resource, allowed)] += count
        self.used.update((function, index, action) for function, index, action in output.get("used", []))

    def denied(self) -> List[str]:
        return sorted(
            f"{function} called {action} on {resource} ({count}x), which its policy does not allow"
            for (function, action, resource, allowed), count in self.calls.items()
            if not allowed
        )

    def unused(self, functions: Iterable[str]) -> List[str]:
        """Declared calls no test saw, for the functions the app has."""
        found: List[str] = []
        for function in functions:
            if function not in PERMISSIONS:
                continue
            for index, grant in enumerate(grants(function)):
                if not grant.by_code:
                    continue
                targets = ", ".join(target.value for target in grant.targets)
                found += [
                    f"{function} may call {action} on {targets}, but no test saw it do so"
                    for action in grant.actions
                    if (function, index, action) not in self.used
                ]
        return found


def _access_denied(function: str, request: IamRequest, operation: str) -> ClientError:
    code = "AccessDeniedException" if request.action.startswith("dynamodb:") else "AccessDenied"
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{function}/test is not authorized to perform: "
        f"{request.action} on resource: {request.resource} because no identity-based policy allows it "
        "(the policy generated from infra/permissions.py, checked by tests/aws_calls.py)"
    )
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


RECORDER = Recorder()


def check_call(params: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
    """botocore's before-parameter-build: the call as the function made it."""
    function = _running.get()
    if function is not None:
        region = context.get("client_region") or "us-east-1"
        RECORDER.check(function, model.service_model.signing_name, model.name, params, region)


# Every botocore session made after it is registered runs it, like its own handlers.
CHECK_HANDLER = ("before-parameter-build", check_call)


# --- knowing which function runs ------------------------------------------------------


def _in_function(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: the API handler for requests; the invoked function otherwise."""
    name = API_HANDLER if isinstance(event, Request) else getattr(event.context, "function_name", None)
    token = _running.set(name)
    try:
        return get_response(event)
    finally:
        _running.reset(token)


def _as_function(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _running.set(name)
        try:
            return func(*args, **kwargs)
        finally:
            _running.reset(token)

    return run


def attribute_calls(app: Any) -> None:
    """Marks, while each function of `app` runs, which one it is."""
    app.register_middleware(_in_function, "all")
    # Authorizers are their own Lambda functions, but no middleware runs around them.
    for name, handler in app.handler_map.items():
        if isinstance(handler, ChaliceAuthorizer):
            handler.func = _as_function(name, handler.func)


# --- pytest hooks ----------------------------------------------------------------------


_problems = pytest.StashKey[List[str]]()


def pytest_configure(config: pytest.Config) -> None:
    attribute_calls(load_app())
    handlers.BUILTIN_HANDLERS.append(CHECK_HANDLER)
    config.stash[_problems] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    handlers.BUILTIN_HANDLERS.remove(CHECK_HANDLER)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, on the controller: a worker's record."""
    RECORDER.merge(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


def _ran_whole_suite(config: pytest.Config) -> bool:
    """The suite's own paths with no -k, -m, --deselect, --ignore, --lf or --sw: only then
    is every declared call expected to have been seen."""
    option = config.option
    if option.keyword or option.markexpr or getattr(option, "lf", False):
        return False
    if any(getattr(option, name, None) for name in ("deselect", "ignore", "ignore_glob")):
        return False
    if option.collectonly or getattr(option, "stepwise", False):
        return False
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    testpaths = {(config.rootpath / path).resolve() for path in config.getini("testpaths")} or {config.rootpath}
    chosen = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    return chosen == testpaths


def problems(recorder: Recorder, functions: Sequence[str], whole_suite: bool) -> List[str]:
    found = recorder.denied()
    if whole_suite:
        found += recorder.unused(functions)
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        config.workeroutput[WORKER_OUTPUT_KEY] = RECORDER.to_output()  # type: ignore[attr-defined]
        return
    whole = _ran_whole_suite(config) and exitstatus == pytest.ExitCode.OK and session.testscollected > 0
    found = problems(RECORDER, lambda_functions(load_app()), whole)
    config.stash[_problems] = found
    if found:
        # Reported as a failed test, so the run's closing line counts it.
        config.hook.pytest_runtest_logreport(
            report=pytest.TestReport(
                nodeid=CHECK_NODE_ID,
                location=(CHECK_NODE_ID.split("::")[0], 0, CHECK_NODE_ID.split("::")[1]),
                keywords={},
                outcome="failed",
                longrepr="\n".join(found),
                when="call",
            )
        )
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    if config.stash.get(_problems, []):
        terminalreporter.write_line(
            "aws calls: declare what a function calls in infra/permissions.py (and test it), then `make policy`",
            red=True,
        )
        return
    total = sum(RECORDER.calls.values())
    if total:
        functions = len({key[0] for key in RECORDER.calls})
        terminalreporter.write_line(f"aws calls: {total} by {functions} functions, each allowed by its policy")
