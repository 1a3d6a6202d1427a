"""Answers: JSON bodies, empty answers, and the contract's error body."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Mapping, Optional

from chalice.app import Request, Response
from pydantic.main import BaseModel

from chalicelib.core import DomainError
from chalicelib.web.status import answer_for

REQUEST_ID_HEADER = "X-Request-Id"


def error_body(
    code: str, message: str, request_id: str, details: Optional[List[Dict[str, Any]]] = None
) -> Dict[str, Any]:
    body: Dict[str, Any] = {"error": code, "message": message, "requestId": request_id}
    if details:
        body["details"] = details
    return body


def error_response(error: DomainError, request_id: str, headers: Optional[Dict[str, str]] = None) -> Response:
    status, code = answer_for(error)
    return Response(
        body=error_body(code, error.message, request_id, error.details),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def internal_error_response(request_id: str) -> Response:
    return Response(
        body=error_body("InternalError", "something went wrong on our side", request_id),
        status_code=500,
        headers={"Content-Type": "application/json"},
    )


def request_id_of(request: Optional[Request], lambda_context: Any) -> str:
    """API Gateway's request id (the one in its access logs), else Lambda's."""
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or getattr(lambda_context, "aws_request_id", None) or uuid.uuid4())


def empty_response(status: int, headers: Mapping[str, str]) -> Response:
    return Response(body="", status_code=status, headers={**headers})


def json_response(body: Any, status: int = 200, headers: Optional[Dict[str, str]] = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_none=True)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})
