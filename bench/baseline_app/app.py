"""The cold-start baseline: a minimal Chalice app that imports the same run-time
dependencies as app.py (Chalice, boto3, pydantic, python-json-logger) and does nothing
else, so the difference in import time is what app.py and chalicelib add.

pydantic loads lazily: `import pydantic` alone costs almost nothing, so the baseline
imports what any pydantic app uses, `BaseModel`, without defining a model."""

import boto3  # noqa: F401
from chalice.app import Chalice, Response
from pydantic import BaseModel  # noqa: F401
from pythonjsonlogger.json import JsonFormatter  # noqa: F401

app = Chalice(app_name="baseline")


@app.route("/health")
def health() -> Response:
    return Response(body={"status": "ok"})
