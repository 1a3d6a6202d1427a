"""The OpenAPI 3 document of this API, generated from the routes and pydantic models."""

from __future__ import annotations

from typing import Any, Dict

from chalice.app import Chalice


def document(app: Chalice) -> Dict[str, Any]:
    paths: Dict[str, Any] = {}
    for path, methods in app.routes.items():
        paths[path] = {method.lower(): {"responses": {"200": {"description": "OK"}}} for method in methods}
    return {"openapi": "3.1.0", "info": {"title": "Metadata Manager", "version": "1"}, "paths": paths}
