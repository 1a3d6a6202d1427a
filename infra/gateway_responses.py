"""API Gateway's own error answers, in the contract's error body.

API Gateway refuses some requests before any function runs: a protected route without
a token (401), a path or method the API does not have (403 "Missing Authentication
Token", which the contract calls a 404), a token the authorizer denies (403, which the
contract calls a 401: the token is unknown, revoked or malformed), an authorizer that
raised because it could not check the token now (500, which the contract calls a 503),
throttling. Left alone it answers `{"message": ...}`. Here each becomes `{"error",
"message", "requestId"}` with the status the contract names. The packaged template sets
these as the REST API's gateway responses; the local stack's gateway answers from the
same table.

API Gateway caches the policy an authorizer returns (for its `ttl_seconds`), an Allow or
a Deny, but not a failure: so the authorizer denies only what the token table says, and
raises when it cannot read it, and the 503 lasts only as long as the outage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

# API Gateway puts the request's id here when it renders a gateway response.
REQUEST_ID_VARIABLE = "$context.requestId"


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's response types, as the contract answers it."""

    response_type: str
    # None keeps the status API Gateway chose (for the DEFAULT_* catch-alls).
    status: Optional[int]
    code: str
    # Plain text: it is rendered in a mapping template, so no '$' or '#'.
    message: str

    def body(self, request_id: str) -> Dict[str, Any]:
        return {"error": self.code, "message": self.message, "requestId": request_id}


TOKENS_UNAVAILABLE = "tokens cannot be checked right now; try again shortly"

GATEWAY_ERRORS: Tuple[GatewayError, ...] = (
    GatewayError(
        "UNAUTHORIZED", 401, "Unauthorized", "a valid bearer token is required: send 'Authorization: Bearer <token>'"
    ),
    GatewayError("MISSING_AUTHENTICATION_TOKEN", 404, "NotFound", "no such route"),
    # Only the authorizer denies, and it denies tokens it does not know (a token whose scope
    # is too small for the route is refused by the route itself, with 403).
    GatewayError(
        "ACCESS_DENIED",
        401,
        "Unauthorized",
        "a valid bearer token is required: this one is unknown, revoked or not of the form 'Bearer <token>'",
    ),
    # The authorizer raised (it could not read the token table) or timed out.
    GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 503, "ServiceUnavailable", TOKENS_UNAVAILABLE),
    GatewayError("AUTHORIZER_FAILURE", 503, "ServiceUnavailable", TOKENS_UNAVAILABLE),
    GatewayError("REQUEST_TOO_LARGE", 413, "PayloadTooLarge", "the request is too large"),
    GatewayError("THROTTLED", 429, "TooManyRequests", "too many requests; slow down and retry"),
    GatewayError("DEFAULT_4XX", None, "BadRequest", "the request was refused before it reached the service"),
    GatewayError("DEFAULT_5XX", None, "InternalError", "something went wrong on our side"),
)


def gateway_error(response_type: str) -> GatewayError:
    """The answer for one of the response types above."""
    return next(error for error in GATEWAY_ERRORS if error.response_type == response_type)


def mapping_template(error: GatewayError) -> str:
    """The response body template: the contract's body, with the request's id filled in."""
    return json.dumps(error.body(REQUEST_ID_VARIABLE))


def sam_gateway_responses() -> Dict[str, Any]:
    """`GatewayResponses` of an `AWS::Serverless::Api`."""
    responses: Dict[str, Any] = {}
    for error in GATEWAY_ERRORS:
        response: Dict[str, Any] = {"ResponseTemplates": {"application/json": mapping_template(error)}}
        if error.status is not None:
            response["StatusCode"] = str(error.status)
        responses[error.response_type] = response
    return responses
