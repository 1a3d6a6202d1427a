"""The AWS the local stack talks to: moto on 127.0.0.1, or whatever the environment names.

With moto, every AWS_* variable of the caller is dropped and the shared config and
credential files are hidden, so nothing of a real account (a profile, a default
`endpoint_url`, instance metadata) can be reached by accident.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, Mapping, MutableMapping, Optional

LOCAL_REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def emulated_environment(environ: Mapping[str, str], endpoint: str, region: str = LOCAL_REGION) -> Dict[str, str]:
    """`environ` without anything that could reach a real account, pointed at `endpoint`."""
    kept = {name: value for name, value in environ.items() if not name.startswith("AWS_")}
    return {
        **kept,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def apply_environment(environ: MutableMapping[str, str], values: Mapping[str, str]) -> None:
    """Makes `environ` exactly `values` (os.environ included: putenv follows)."""
    for name in [name for name in environ if name not in values]:
        del environ[name]
    environ.update(values)


def export_line(environ: Mapping[str, str]) -> str:
    """The shell line that points another tool at the same emulated AWS."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return "export " + " ".join(f"{name}={environ[name]}" for name in names if name in environ)


class Moto:
    """moto's server in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        from moto.server import ThreadedMotoServer  # moto loads only where it runs

        self._server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
        self.endpoint: Optional[str] = None

    def start(self) -> str:
        # One access-log line per SQS poll would bury the service's own logs.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self.endpoint is not None:
            self._server.stop()
            self.endpoint = None
