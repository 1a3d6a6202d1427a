"""Settings schemas: which `settings` each layout of a site accepts, checked as JSON
Schema 2020-12 with no remote references and linear-time patterns."""

from chalicelib.schemas.dialect import DIALECT, MAX_SCHEMA_BYTES, schema_problems, settings_errors

__all__ = ["DIALECT", "MAX_SCHEMA_BYTES", "schema_problems", "settings_errors"]
