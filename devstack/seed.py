"""Loads example sites and page configs into a running stack through its HTTP API.

Seeding goes through PUT /sites and POST /metadata with the admin token, so it takes the
same path as any client: validation, the queue, the worker. A page that already has a
config (a second run against a kept table) is left as it is.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import requests

REQUEST_TIMEOUT_SECONDS = 10


class SeedError(Exception):
    pass


@dataclass(frozen=True)
class Seed:
    sites: List[Dict[str, Any]]
    configs: List[Dict[str, Any]]


@dataclass
class SeedReport:
    sites: List[str] = field(default_factory=list)
    configs: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"seeded {len(self.sites)} site(s) and {len(self.configs)} config(s)"
        if self.skipped:
            text += f"; {len(self.skipped)} page(s) already had a config: {', '.join(self.skipped)}"
        return text


def load_seed(path: Path) -> Seed:
    """Reads a seed file: `{"sites": [{"site", ...}], "configs": [{"site", "page", ...}]}`.
    Only the shape is checked here; the API checks the fields, as for any client."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SeedError(f"seed file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"sites", "configs"}:
        raise SeedError(f'seed file {path} must be an object with "sites" and "configs" lists')
    seed = Seed(sites=data.get("sites", []), configs=data.get("configs", []))
    _check_items(path, "sites", seed.sites, ("site",))
    _check_items(path, "configs", seed.configs, ("site", "page"))
    return seed


def _check_items(path: Path, name: str, items: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(items, list):
        raise SeedError(f'seed file {path}: "{name}" must be a list')
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in keys):
            raise SeedError(f"seed file {path}: {name}[{index}] must be an object with {', '.join(keys)} as strings")


class Seeder:
    def __init__(self, api_url: str, token: str, timeout: float = 30.0) -> None:
        self._api = api_url.rstrip("/")
        self._timeout = timeout
        self._http = requests.Session()
        self._http.headers.update({"Authorization": f"Bearer {token}"})

    def run(self, seed: Seed) -> SeedReport:
        report = SeedReport()
        # Sites first, and applied: the API refuses a config for a site it does not know yet.
        pending = {}
        for site in seed.sites:
            body = {key: value for key, value in site.items() if key != "site"}
            pending[f"site {site['site']}"] = self._submit("PUT", f"/sites/{site['site']}", body)
        self._wait(pending)
        report.sites = [site["site"] for site in seed.sites]
        pending = {}
        for config in seed.configs:
            label = f"{config['site']}/{config['page']}"
            response = self._http.post(f"{self._api}/metadata", json=config, timeout=REQUEST_TIMEOUT_SECONDS)
            if response.status_code == 409:
                report.skipped.append(label)
                continue
            pending[f"config {label}"] = self._accepted(response, f"POST /metadata ({label})")
            report.configs.append(label)
        self._wait(pending)
        return report

    def _submit(self, method: str, path: str, body: Dict[str, Any]) -> str:
        response = self._http.request(method, f"{self._api}{path}", json=body, timeout=REQUEST_TIMEOUT_SECONDS)
        return self._accepted(response, f"{method} {path}")

    @staticmethod
    def _accepted(response: requests.Response, what: str) -> str:
        if response.status_code != 202:
            raise SeedError(f"{what} answered {response.status_code}: {response.text}")
        return str(response.json()["operationId"])

    def _wait(self, pending: Dict[str, str]) -> None:
        """Waits until the worker has applied every operation; raises on the first failure."""
        deadline = time.monotonic() + self._timeout
        while pending:
            for label, operation_id in list(pending.items()):
                response = self._http.get(f"{self._api}/operations/{operation_id}", timeout=REQUEST_TIMEOUT_SECONDS)
                operation = response.json() if response.status_code == 200 else {}
                if operation.get("status") == "succeeded":
                    del pending[label]
                elif operation.get("status") == "failed":
                    raise SeedError(f"{label} failed: {operation.get('error')}")
            if pending and time.monotonic() > deadline:
                raise SeedError(f"not applied after {self._timeout:.0f}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.2)
