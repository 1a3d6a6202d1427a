"""Domain errors: each says what happened. Which HTTP answer it becomes is decided in one
table at the web edge (`chalicelib.web.status`). The worker has its own two signals
(`chalicelib.writes`): `OperationFailed` (failed for good) and `RetryLater`; the codes a
failed operation can end with are `FailureCode`."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, get_args

# Why an accepted operation failed: the `error.code` of a failed operation, and the
# `failure.code` of a failed release. The worker records these only (`OperationFailed`
# takes one), and the OpenAPI document lists them, so clients can branch on them.
FailureCode = Literal[
    "AlreadyApproved",
    "ApprovalRequired",
    "Conflict",
    "DeliveryFailed",
    "IdempotencyKeyReused",
    "NotFound",
    "NotPublished",
    "PageChangedSince",
    "PreconditionFailed",
    "Rejected",
    "ReleaseFailed",
    "ReleaseStateConflict",
    "ReleaseTooLarge",
    "SchemaViolation",
    "SelfApproval",
    "StillPublished",
    "Superseded",
    "UnknownSite",
]
FAILURE_CODES: Tuple[str, ...] = get_args(FailureCode)


class DomainError(Exception):
    """Something a client caused or should know about."""

    def __init__(self, message: str, details: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(DomainError):
    """Malformed JSON (an empty body, or one that is not UTF-8, too), query parameters or cursor."""


class Unauthorized(DomainError):
    """No token, or a token that is unknown or revoked."""


class Forbidden(DomainError):
    """The token's scope is smaller than the route needs."""


class NotFound(DomainError):
    """The resource does not exist (or no longer does)."""


class Conflict(DomainError):
    """The request contradicts what is stored, such as a second config for one page."""


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key sent again with a different request."""


class SchemaBreaksPublished(Conflict):
    """A schema that would reject published configs (listed in `details`); `?force=true` stores it anyway."""


class ApprovalRequired(Conflict):
    """The site requires approvals: its pages are published through releases."""


class StillPublished(Conflict):
    """A config its page serves, on a site that publishes by review: unpublish it first."""


class NotPublished(Conflict):
    """The config's page serves no version."""


class ReleaseStateConflict(Conflict):
    """The release's status does not allow this (a published release is not approved, say)."""


class SelfApproval(Conflict):
    """A release is approved by a token other than the one that created it."""


class AlreadyApproved(Conflict):
    """Each token approves a release once."""


class PreconditionFailed(DomainError):
    """If-Match names a version that is no longer current."""


class PayloadTooLarge(DomainError):
    """The body is over the documented limit."""


class UnsupportedMediaType(DomainError):
    """The body is not declared as JSON: no `Content-Type: application/json`, or not UTF-8."""


class ValidationFailed(DomainError):
    """Well-formed JSON whose fields are invalid; `details` names each field."""


class DependencyUnavailable(DomainError):
    """The table or the queue refused for now (throttling, no connection).

    The API answers that it cannot serve right now (503); in the worker the applier turns
    it into `RetryLater`, and the message is tried again."""
