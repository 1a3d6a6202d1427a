"""What accepting a write can answer: the operation it became, a dry run's verdict, or a
schema's impact report. Here, apart from the write machinery, so that the routes can
declare them without loading it."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from chalicelib.core.fields import Model, Timestamp

OperationStatus = Literal["pending", "succeeded", "failed"]


class Accepted(Model):
    operationId: str
    status: OperationStatus
    id: Optional[str] = None


class PreviewLinkAccepted(Accepted):
    """A preview link being created: `id` is the link's; `token` (shown only in this
    answer) opens it, at `url` (the API's preview route, relative to the API's base URL)."""

    url: Optional[str] = None
    token: Optional[str] = None
    expiresAt: Optional[Timestamp] = None


class WebhookAccepted(Accepted):
    """A webhook being created, or its secret rotated: `secret` (shown only in this answer)
    is what its receiver verifies signatures with (Standard Webhooks, `whsec_...`)."""

    secret: Optional[str] = None


class Checked(Model):
    """A dry run's answer: the write would be accepted (else the error it would get)."""

    valid: Literal[True] = True


class ImpactedConfig(Model):
    """A config the schema would reject, and how."""

    id: str
    page: str
    version: int
    published: bool
    errors: List[Dict[str, Any]]


class ImpactReport(Model):
    """What a schema would do to the site's configs of its layout (the dry run's answer)."""

    site: str
    layout: str
    valid: bool
    checked: int
    rejected: List[ImpactedConfig]
