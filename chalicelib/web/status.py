"""The one table of what each domain error answers over HTTP: its status and the
contract's error code."""

from __future__ import annotations

from typing import Dict, Tuple, Type

from chalicelib.core import errors

ANSWERS: Dict[Type[errors.DomainError], Tuple[int, str]] = {
    errors.BadRequest: (400, "BadRequest"),
    errors.Unauthorized: (401, "Unauthorized"),
    errors.Forbidden: (403, "Forbidden"),
    errors.NotFound: (404, "NotFound"),
    errors.Conflict: (409, "Conflict"),
    errors.IdempotencyKeyReused: (409, "IdempotencyKeyReused"),
    errors.SchemaBreaksPublished: (409, "SchemaBreaksPublished"),
    errors.ApprovalRequired: (409, "ApprovalRequired"),
    errors.StillPublished: (409, "StillPublished"),
    errors.NotPublished: (409, "NotPublished"),
    errors.ReleaseStateConflict: (409, "ReleaseStateConflict"),
    errors.SelfApproval: (409, "SelfApproval"),
    errors.AlreadyApproved: (409, "AlreadyApproved"),
    errors.PreconditionFailed: (412, "PreconditionFailed"),
    errors.PayloadTooLarge: (413, "PayloadTooLarge"),
    errors.UnsupportedMediaType: (415, "UnsupportedMediaType"),
    errors.ValidationFailed: (422, "ValidationFailed"),
    errors.DependencyUnavailable: (503, "ServiceUnavailable"),
}


def answer_for(error: errors.DomainError) -> Tuple[int, str]:
    """The status and code of an error: its own entry, else its nearest ancestor's."""
    for cls in type(error).__mro__:
        if cls in ANSWERS:
            return ANSWERS[cls]
    return 500, "InternalError"
