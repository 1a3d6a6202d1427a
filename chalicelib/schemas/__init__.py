"""Settings schemas: which `settings` each layout of a site accepts, checked as JSON
Schema 2020-12 with no remote references and linear-time patterns: an uploaded schema's
problems (`schema_problems`), and why a config's settings may not be stored with its
layout (`settings_problems`)."""

from chalicelib.schemas.dialect import (
    DIALECT,
    MAX_SCHEMA_BYTES,
    schema_problems,
    settings_errors,
    settings_problems,
)

__all__ = ["DIALECT", "MAX_SCHEMA_BYTES", "schema_problems", "settings_errors", "settings_problems"]
