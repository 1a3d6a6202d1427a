"""Domain errors. Each names the HTTP status and contract code it answers with."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class ServiceError(Exception):
    """An error a client caused or should know about; `chalicelib.http` renders it."""

    status = 400
    code = "BadRequest"

    def __init__(self, message: str, details: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ServiceError):
    """Malformed JSON, query parameters or cursor."""


class Unauthorized(ServiceError):
    """No token, or a token that is unknown or revoked."""

    status = 401
    code = "Unauthorized"


class Forbidden(ServiceError):
    """The token's scope is smaller than the route needs."""

    status = 403
    code = "Forbidden"


class NotFound(ServiceError):
    """The resource does not exist (or no longer does)."""

    status = 404
    code = "NotFound"


class Conflict(ServiceError):
    """The request contradicts what is stored, such as a second config for one page."""

    status = 409
    code = "Conflict"


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key sent again with a different request."""

    code = "IdempotencyKeyReused"


class PreconditionFailed(ServiceError):
    """If-Match names a version that is no longer current."""

    status = 412
    code = "PreconditionFailed"


class PayloadTooLarge(ServiceError):
    """The body is over the documented limit."""

    status = 413
    code = "PayloadTooLarge"


class UnsupportedMediaType(ServiceError):
    """The body is not declared as JSON."""

    status = 415
    code = "UnsupportedMediaType"


class ValidationFailed(ServiceError):
    """Well-formed JSON whose fields are invalid; `details` names each field."""

    status = 422
    code = "ValidationFailed"


class ServiceUnavailable(ServiceError):
    """The table or the queue refused for now (throttling, a conflict, no connection).

    The API answers 503; the worker leaves the message on the queue to be tried again."""

    status = 503
    code = "ServiceUnavailable"
