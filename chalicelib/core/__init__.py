"""The vocabulary every other part shares: domain errors and the one place AWS errors
become them (`aws_errors`), identifiers, time, entity tags, limits and slugs (`limits`),
validated field types and the fields request bodies and operations share (`fields`),
what writes answer (`outcomes`), RFC 6902 patches, structured logs, the settings app.py
reads when it is imported (`environment`) and the stage's settings (`stage`).

What the routes need when app.py is imported is imported here; what builds pydantic
models (`fields`, `outcomes`, `patches`, `stage`) loads on first use (PEP 562), so that a
cold start builds none, and so does the strict JSON parser (`from chalicelib.core import
jsontext`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.aws_errors import (
    AWS_ERRORS,
    ConditionFailed,
    WriteRejected,
    describe,
    queue_error,
    set_up_hint,
    table_error,
    transaction_error,
    unreachable,
)
from chalicelib.core.clock import epoch_seconds, isoformat, utc_now
from chalicelib.core.environment import MissingSetting, required_setting
from chalicelib.core.errors import (
    AlreadyApproved,
    ApprovalRequired,
    BadRequest,
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    NotPublished,
    PayloadTooLarge,
    PreconditionFailed,
    ReleaseStateConflict,
    SchemaBreaksPublished,
    SelfApproval,
    StillPublished,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.core.etags import etag, if_match_holds, if_none_match_holds, pages_etag, schema_etag
from chalicelib.core.ids import ID_PATTERN, is_config_id, is_release_id
from chalicelib.core.lazy import lazy_names
from chalicelib.core.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_BODY_BYTES,
    MAX_PAGE_SIZE,
    MAX_PREVIEW_SECONDS,
    MAX_SCHEMA_DESCRIPTION,
    MAX_SETTINGS_BYTES,
    MAX_SETTINGS_DEPTH,
    PAGE_PATTERN,
    SITE_PATTERN,
    TEMPLATE_PATTERN,
    is_page_slug,
    is_site_slug,
    is_template_name,
    json_depth,
    settings_size,
)
from chalicelib.core.logs import get_logger, log_context, metric_fields

if TYPE_CHECKING:
    from chalicelib.core.fields import ConfigContent, Model, PageSlug, SiteFields, SiteSlug, StrictModel, TemplateName
    from chalicelib.core.outcomes import (
        Accepted,
        Checked,
        ImpactedConfig,
        ImpactReport,
        OperationStatus,
        PreviewLinkAccepted,
    )
    from chalicelib.core.patches import FieldChange, make_patch, summarize
    from chalicelib.core.stage import StageSettings, get_settings

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(
            ("ConfigContent", "Model", "PageSlug", "SiteFields", "SiteSlug", "StrictModel", "TemplateName"), "fields"
        ),
        **dict.fromkeys(
            ("Accepted", "Checked", "ImpactedConfig", "ImpactReport", "OperationStatus", "PreviewLinkAccepted"),
            "outcomes",
        ),
        **dict.fromkeys(("FieldChange", "make_patch", "summarize"), "patches"),
        **dict.fromkeys(("StageSettings", "get_settings"), "stage"),
    },
)

__all__ = [
    "AWS_ERRORS",
    "DEFAULT_PAGE_SIZE",
    "ID_PATTERN",
    "MAX_BODY_BYTES",
    "MAX_PAGE_SIZE",
    "MAX_PREVIEW_SECONDS",
    "MAX_SCHEMA_DESCRIPTION",
    "MAX_SETTINGS_BYTES",
    "MAX_SETTINGS_DEPTH",
    "PAGE_PATTERN",
    "SITE_PATTERN",
    "TEMPLATE_PATTERN",
    "Accepted",
    "AlreadyApproved",
    "ApprovalRequired",
    "BadRequest",
    "Checked",
    "ConditionFailed",
    "ConfigContent",
    "Conflict",
    "DependencyUnavailable",
    "DomainError",
    "FieldChange",
    "Forbidden",
    "IdempotencyKeyReused",
    "ImpactReport",
    "ImpactedConfig",
    "MissingSetting",
    "Model",
    "NotFound",
    "NotPublished",
    "OperationStatus",
    "PageSlug",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreviewLinkAccepted",
    "ReleaseStateConflict",
    "SchemaBreaksPublished",
    "SelfApproval",
    "SiteFields",
    "SiteSlug",
    "StageSettings",
    "StillPublished",
    "StrictModel",
    "TemplateName",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WriteRejected",
    "describe",
    "epoch_seconds",
    "errors",
    "etag",
    "get_logger",
    "get_settings",
    "ids",
    "if_match_holds",
    "if_none_match_holds",
    "is_config_id",
    "is_page_slug",
    "is_release_id",
    "is_site_slug",
    "is_template_name",
    "isoformat",
    "json_depth",
    "jsontext",
    "lazy_names",
    "log_context",
    "make_patch",
    "metric_fields",
    "pages_etag",
    "queue_error",
    "required_setting",
    "schema_etag",
    "set_up_hint",
    "settings_size",
    "summarize",
    "table_error",
    "transaction_error",
    "unreachable",
    "utc_now",
]
