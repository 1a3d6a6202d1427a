"""Does the local stack answer every connection? A burst against `make run`'s stack
(`python -m devstack`, AWS emulated by moto) from many concurrent clients, each a
keep-alive HTTP client (requests) that asks the server to close every connection after
its answer (`Connection: close`, as the write burst does): public page reads and writes,
mixed. Each request either gets an answer (any status), or its connection is refused
(it could not be opened) or dropped (opened, then closed or reset without an answer, or
no answer within the timeout).
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import requests

from tests.stack import LocalStack, running_stack

TIMEOUT = 60.0
REFUSED = "refused"
DROPPED = "dropped"
# One write in this many requests; the others read the page route.
WRITE_EVERY = 4


@dataclass
class Burst:
    clients: int
    requests: int
    seconds: float = 0.0
    answers: Dict[int, int] = field(default_factory=dict)
    failures: Dict[str, int] = field(default_factory=dict)
    # Why, as the client saw it: the exception, or a 5xx answer's body, counted.
    reasons: Dict[str, int] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        return self.failures.get(REFUSED, 0)

    @property
    def dropped(self) -> int:
        return self.failures.get(DROPPED, 0)


def classify(exc: requests.RequestException) -> str:
    """Refused: no connection was made. Dropped: one was made, and no answer came on it."""
    if isinstance(exc, requests.ConnectTimeout):
        return REFUSED
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        if "NewConnectionError" in text or "Connection refused" in text:
            return REFUSED
    return DROPPED


def burst(url: str, token: str, site: str, clients: int, count: int) -> Burst:
    local = threading.local()
    answers: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lock = threading.Lock()
    run = uuid.uuid4().hex[:6]

    def one(number: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        headers = {"Connection": "close", "Origin": "https://bench.example"}
        try:
            if number % WRITE_EVERY == 0:
                body = {"site": site, "page": f"c{run}-{number:05d}", "layout": "l", "theme": "t", "settings": {}}
                headers["Authorization"] = f"Bearer {token}"
                response = local.session.post(f"{url}/metadata", json=body, headers=headers, timeout=TIMEOUT)
            else:
                response = local.session.get(f"{url}/sites/{site}/pages/home", headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            with lock:
                failures[classify(exc)] += 1
                reasons[f"{type(exc).__name__}: {str(exc)[-120:]}"] += 1
            return
        with lock:
            answers[response.status_code] += 1
            if response.status_code >= 500:
                reasons[f"{response.status_code}: {response.text[:160]}"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(count)))
    return Burst(clients, count, time.monotonic() - started, dict(answers), dict(failures), dict(reasons))


def _site(stack: LocalStack, token: str, site: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body: Dict[str, Any] = {"name": site, "allowedOrigins": ["https://bench.example"], "cacheMaxAge": 60}
    operation = requests.put(f"{stack.url}/sites/{site}", json=body, headers=headers, timeout=30).json()
    page: Dict[str, Any] = {"site": site, "page": "home", "layout": "l", "theme": "t", "settings": {"hero": "bench"}}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(f"{stack.url}/operations/{operation['operationId']}", headers=headers, timeout=30)
        if status.json()["status"] == "succeeded":
            break
        time.sleep(0.1)
    created = requests.post(f"{stack.url}/metadata", json=page, headers=headers, timeout=30).json()
    while time.monotonic() < deadline:
        status = requests.get(f"{stack.url}/operations/{created['operationId']}", headers=headers, timeout=30)
        if status.json()["status"] == "succeeded":
            return
        time.sleep(0.1)
    raise RuntimeError("the bench site and page were not applied within a minute")


def measure(loads: Sequence[Tuple[int, int]]) -> List[Burst]:
    """One burst per (clients, requests), one after the other, on one stack."""
    token = f"bench-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="mm-connections-") as folder, running_stack(Path(folder), token) as stack:
        _site(stack, token, "bench")
        return [burst(stack.url, token, "bench", clients, count) for clients, count in loads]


def describe(found: Burst) -> str:
    answered = ", ".join(f"{count} x {status}" for status, count in sorted(found.answers.items()))
    return answered or "none"
