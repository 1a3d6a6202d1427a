"""The one place where AWS errors become what the domain makes of them, decided from their
structured parts: the error code, and the `CancellationReasons` of a cancelled transaction.

"Not now" (throttling, no connection) is `DependencyUnavailable`; a DynamoDB condition
that no longer holds is `ConditionFailed`; a write DynamoDB refuses as invalid is
`WriteRejected`. Anything else from DynamoDB is a bug (a malformed request, a missing
permission) and is raised as it is.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from chalicelib.core.errors import DependencyUnavailable

# What an AWS call raises: the service's answer, or the SDK's own (no connection, a timeout).
AWS_ERRORS = (ClientError, BotoCoreError)

# DynamoDB's errors that say "not now" rather than "never": the caller may try again.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)
# The same, as the reasons a cancelled transaction gives for one of its items.
TRANSIENT_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict", "RequestLimitExceeded"}
)


class ConditionFailed(Exception):
    """A write's condition no longer holds: what was read has changed since. Reading again
    decides what to do; nothing was written. `item` is what stands in the way, when
    DynamoDB returned it with its refusal."""

    def __init__(self, failed_items: Sequence[int], item: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(f"the condition of item(s) {list(failed_items)} no longer holds")
        self.failed_items = list(failed_items)
        self.item = item


class WriteRejected(Exception):
    """DynamoDB refused the write as invalid (an item over 400 KB, a value it cannot hold):
    the same write can never succeed. Nothing was written."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: Exception) -> str:
    """An AWS error in a few words, for a report: its code and message, or the SDK's error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__


# The SDK cannot reach AWS at all from this process: no region, no credentials, or nothing
# listens at the endpoint. Outside Lambda that is a set-up to fix, and the answer says how.
_NOT_SET_UP = (NoRegionError, NoCredentialsError, PartialCredentialsError, EndpointConnectionError)
LOCAL_SET_UP = (
    "on this machine, run `make run` (the local stack: the API on 127.0.0.1 with AWS emulated), "
    "or point this process at AWS with AWS_ENDPOINT_URL (for the local stack, the endpoint `make run` "
    "prints), AWS_DEFAULT_REGION and credentials"
)


def unreachable(
    exc: BotoCoreError, hint: str = "", what: str = "AWS could not be reached; try again shortly"
) -> DependencyUnavailable:
    """The SDK's own failure (not an answer from AWS) as a 503 saying `what` it means for
    the request, and, when it may be one of set-up rather than of a moment, `hint`: how to
    set this process up."""
    if isinstance(exc, _NOT_SET_UP) and hint:
        return DependencyUnavailable(f"{what}. AWS cannot be reached from this process ({exc}): {hint}")
    return DependencyUnavailable(what)


# What AWS answers a process pointed at the wrong place: no such table there, or
# credentials it does not take. On a developer's machine, a set-up to fix.
SET_UP_ERROR_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "AccessDeniedException",
    }
)


def _deserialized(item: Mapping[str, Any]) -> Dict[str, Any]:
    """An item as DynamoDB's low-level API spells it, as plain Python values."""
    from boto3.dynamodb.types import TypeDeserializer  # only for a refused conditional write

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def table_error(exc: Exception) -> Exception:
    """A DynamoDB error as the domain sees it (see the module's docstring)."""
    if not isinstance(exc, ClientError):
        what = f"the table could not be reached ({type(exc).__name__}); try again shortly"
        return unreachable(exc, set_up_hint(), what) if isinstance(exc, BotoCoreError) else DependencyUnavailable(what)
    if error_code(exc) in SET_UP_ERROR_CODES and under_chalice_cli():
        # `chalice local` pointed at an account without the stage's table, or with
        # credentials it does not take: a set-up to fix, not a bug.
        return DependencyUnavailable(f"AWS answered {describe(exc)}: {LOCAL_SET_UP}")
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        old: Mapping[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
        # With ReturnValuesOnConditionCheckFailure, the refusal carries the item in the way.
        item = _deserialized(old) if old else None
        return ConditionFailed([0], item)
    if code == "TransactionCanceledException":
        return _cancelled(exc)
    if code in TRANSIENT_ERROR_CODES:
        return DependencyUnavailable(f"the table refused for now ({code}); try again shortly")
    return exc


def transaction_error(exc: Exception) -> Exception:
    """A `TransactWriteItems` error as the domain sees it: as `table_error`, and a
    transaction refused as a whole as invalid (too large: an item over 400 KB, the whole
    over 4 MB) is `WriteRejected`, for the same transaction can never succeed."""
    if isinstance(exc, ClientError) and error_code(exc) == "ValidationException":
        return WriteRejected(f"the table refused the change as invalid ({exc})")
    return table_error(exc)


def _cancelled(exc: ClientError) -> Exception:
    reasons = [str(reason.get("Code") or "None") for reason in exc.response.get("CancellationReasons", [])]
    failed = [index for index, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"]
    if any(reason in TRANSIENT_REASONS for reason in reasons):
        return DependencyUnavailable("the table refused the transaction for now; try again shortly")
    invalid = [reason for reason in reasons if reason not in ("None", "ConditionalCheckFailed")]
    if invalid:
        return WriteRejected(f"the table refused the change as invalid ({', '.join(sorted(set(invalid)))})")
    if failed:
        return ConditionFailed(failed)
    # No reasons at all (an older SDK or an emulator): treat it as a race and read again.
    return ConditionFailed([])


def queue_error(exc: Exception) -> DependencyUnavailable:
    """An SQS error on sending a write: whatever it is, nothing was accepted, and the
    client may try again (a 202 is only ever given for an operation on the queue)."""
    what = "the write queue cannot be reached; nothing was accepted, try again"
    if isinstance(exc, BotoCoreError):
        return unreachable(exc, set_up_hint(), what)
    return DependencyUnavailable(what)


def under_chalice_cli() -> bool:
    """Running under Chalice's command line (`chalice local`), which sets this variable
    for its commands: a developer's machine, never Lambda."""
    return os.environ.get("AWS_CHALICE_CLI_MODE") == "true"


def set_up_hint() -> str:
    """How to reach AWS, on a developer's machine: the `local` stage (never deployed), or
    any stage under Chalice's command line (`chalice local`, which sets the variable);
    nothing in Lambda."""
    on_a_desk = os.environ.get("APP_STAGE", "local") == "local" or under_chalice_cli()
    return LOCAL_SET_UP if on_a_desk else ""
