"""The cold-start baseline: a minimal Chalice app that imports the same run-time
dependencies as app.py (Chalice, boto3, pydantic, python-json-logger) and does nothing
else, so the difference in import time is what app.py and chalicelib add."""

import boto3  # noqa: F401
import pydantic  # noqa: F401
from chalice.app import Chalice, Response
from pythonjsonlogger.json import JsonFormatter  # noqa: F401

app = Chalice(app_name="baseline")


@app.route("/health")
def health() -> Response:
    return Response(body={"status": "ok"})
