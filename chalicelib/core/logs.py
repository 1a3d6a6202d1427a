"""Structured JSON logs: one object per line, carrying the request and operation ids, so
one write can be followed from the API through the queue into the worker."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Dict, Iterator, Optional

from pythonjsonlogger.json import JsonFormatter

_context: ContextVar[Optional[Dict[str, Any]]] = ContextVar("log_context", default=None)
LOGGER_NAME = "metadata_manager"
# python-json-logger leaves out extras whose names start with "_", so an Embedded Metric
# Format document's "_aws" travels under this name and is renamed on output.
_EMF_FIELD = "emfMetadata"


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        return True


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time, as `print` does."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def get_logger(level: str = "INFO") -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(message)s",
                rename_fields={"levelname": "level", _EMF_FIELD: "_aws"},
                timestamp=True,
            )
        )
        handler.addFilter(_ContextFilter())
        logger.addHandler(handler)
        # Lambda's root handler would print every line a second time, as text.
        logger.propagate = False
    logger.setLevel(level)
    return logger


@contextmanager
def log_context(**values: Optional[str]) -> Iterator[None]:
    """Adds fields (requestId, operationId, ...) to every line logged inside the block."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def metric_fields(emf_document: Dict[str, Any]) -> Dict[str, Any]:
    """Log extras that print as the given Embedded Metric Format document."""
    fields = dict(emf_document)
    fields[_EMF_FIELD] = fields.pop("_aws")
    return fields
