"""`chalice local --stage local` on the running local stack's emulated AWS.

app.py imports this only under Chalice's command line (`AWS_CHALICE_CLI_MODE`, which
Chalice sets for its commands) on the `local` stage, which is never deployed: it is not
in the Lambda package and never runs there. When `make run` is running on this machine,
its moto endpoint, region and fake credentials go into this process's environment, so
`chalice local` reads and writes the stack's table and queue (the stack's worker applies
the writes). When none runs, nothing changes, and every route that needs AWS answers 503
saying what to run or set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping, Optional

from devstack import state
from devstack.aws import emulated_environment


def use_running_stack(
    environ: MutableMapping[str, str] = os.environ, directory: Optional[Path] = None
) -> Optional[state.StackState]:
    """Points `environ` at the running local stack's AWS; None (and nothing changed) when
    AWS_ENDPOINT_URL is set already or no stack of the `local` stage runs."""
    if environ.get("AWS_ENDPOINT_URL"):
        return None  # the developer chose where AWS is
    folder = directory or state.state_dir()
    for path in sorted(folder.glob("metadata-manager-*.json")):
        port = path.stem.rsplit("-", 1)[-1]
        if not port.isdigit():
            continue
        try:
            found = state.read(int(port), folder)
        except state.StackNotRunning:
            continue
        if found.stage != "local" or found.aws_endpoint is None:
            continue
        emulated = emulated_environment(environ, found.aws_endpoint, found.region)
        # Whatever could reach a real account goes; Chalice's own marker stays.
        gone = [name for name in environ if name.startswith("AWS_") and name not in emulated]
        for name in gone:
            if name != "AWS_CHALICE_CLI_MODE":
                del environ[name]
        environ.update({name: value for name, value in emulated.items() if name.startswith("AWS_")})
        environ["QUEUE_URL"] = found.queue_url
        print(f"chalice local: using the local stack of {found.api_url} (AWS at {found.aws_endpoint})")
        return found
    return None
