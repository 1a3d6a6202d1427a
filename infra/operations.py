"""What a deployed stage allows and what its alarms hold it to: the worker's concurrency
cap, the API's throttling, and the thresholds. The packaged template (infra/template.py)
and `make deploy` (infra/deploy.py) both build from here, so the two release paths agree.

Per stage, from the code: the throttling and the API's thresholds in `LIMITS` below; the
worker's cap is `reserved_concurrency` of `apply_writes` in `.chalice/config.json`
(Chalice sets it on both paths); the queue age limits are the stage's environment
variables, which the scheduled check reads too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping

from infra.resources import PROJECT_DIR, WORKER_FUNCTION, StageResources

# Routes that write (each queues an operation): throttled lower than the reads.
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# The route frontends fetch their pages from.
PAGE_ROUTE = "/sites/{site}/pages/{page}"
# Methods with API Gateway's detailed metrics (per method, each a charged custom metric):
# the page route, and the config writes of the contract, for the latency alarm and the
# dashboard. Every other method counts in the API's totals.
MEASURED = (("GET", PAGE_ROUTE), ("POST", "/metadata"), ("PUT", "/metadata/{id}"), ("DELETE", "/metadata/{id}"))


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket: `rate` requests a second, `burst` at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class StageLimits:
    # Every route: the stage's default.
    reads: Throttle
    # Each write route on its own: a burst waits in the queue, so writes need less.
    writes: Throttle
    # The share of the API's answers that are 5xx (5 minutes, twice) that alarms.
    api_5xx_rate: float
    # The page route's 99th percentile latency (5 minutes, three times) that alarms.
    page_p99_ms: float


LIMITS: Dict[str, StageLimits] = {
    "dev": StageLimits(reads=Throttle(50, 100), writes=Throttle(10, 20), api_5xx_rate=0.05, page_p99_ms=3000),
    "prod": StageLimits(reads=Throttle(500, 1000), writes=Throttle(25, 50), api_5xx_rate=0.01, page_p99_ms=1500),
}


@dataclass(frozen=True)
class StageOperations:
    resources: StageResources
    app_name: str
    limits: StageLimits
    # The most `apply_writes` run at once: reserved concurrency and the event source's
    # maximum concurrency.
    worker_concurrency: int
    write_age_seconds: int
    webhook_age_seconds: int
    backup_check_minutes: int
    # The REST API's stage (`api_gateway_stage`), in every URL of the API.
    api_stage: str
    metrics_namespace: str

    @property
    def stage(self) -> str:
        return self.resources.stage

    @property
    def api_name(self) -> str:
        """The REST API's name, which API Gateway's metrics are keyed by (with its stage):
        one per stage, so two stages in one account are not counted together."""
        return f"{self.app_name}-{self.stage}"

    @property
    def topic_name(self) -> str:
        return f"{self.app_name}-{self.stage}-alarms"

    @property
    def dashboard_name(self) -> str:
        return f"{self.app_name}-{self.stage}"

    @classmethod
    def for_stage(cls, resources: StageResources) -> StageOperations:
        config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
        if resources.stage not in LIMITS:
            raise ValueError(f"no operations limits for stage '{resources.stage}' in infra/operations.py (LIMITS)")
        stage_config = config["stages"][resources.stage]
        worker = stage_config.get("lambda_functions", {}).get(WORKER_FUNCTION, {})
        if "reserved_concurrency" not in worker:
            raise ValueError(
                f"stage '{resources.stage}' caps no worker: set lambda_functions.{WORKER_FUNCTION}."
                "reserved_concurrency in .chalice/config.json"
            )
        if int(worker["reserved_concurrency"]) < 2:
            raise ValueError(
                f"{WORKER_FUNCTION}'s reserved_concurrency must be 2 or more (an SQS event source's least cap)"
            )
        env = resources.environment()
        return cls(
            resources=resources,
            app_name=str(config["app_name"]),
            limits=LIMITS[resources.stage],
            worker_concurrency=int(worker["reserved_concurrency"]),
            write_age_seconds=int(env.get("WRITE_QUEUE_AGE_WARNING_SECONDS", 300)),
            webhook_age_seconds=int(env.get("WEBHOOK_QUEUE_AGE_WARNING_SECONDS", 1800)),
            backup_check_minutes=int(env.get("BACKUP_CHECK_RATE_MINUTES", 60)),
            api_stage=str(stage_config.get("api_gateway_stage", "api")),
            metrics_namespace=env.get("METRICS_NAMESPACE", "MetadataManager"),
        )


@dataclass(frozen=True)
class MethodSetting:
    """One entry of the REST API stage's method settings ("/*", "*": every method)."""

    path: str
    method: str
    throttle: Throttle
    metrics: bool = False

    @property
    def resource_path(self) -> str:
        """The path as API Gateway writes it in method settings: '/' as '~1', after a '/'."""
        return "/*" if self.path == "/*" else "/" + self.path.replace("/", "~1")

    @property
    def key(self) -> str:
        """Its key in `GetStage`'s `methodSettings`."""
        return f"{self.resource_path[1:]}/{self.method}"

    def template(self) -> Dict[str, Any]:
        """As CloudFormation's `MethodSettings` (of the SAM API's stage)."""
        return {
            "ResourcePath": self.resource_path,
            "HttpMethod": self.method,
            "ThrottlingRateLimit": self.throttle.rate,
            "ThrottlingBurstLimit": self.throttle.burst,
            "MetricsEnabled": self.metrics,
        }

    def values(self) -> Dict[str, Any]:
        """As `GetStage` answers it, for what is set here."""
        return {
            "throttlingRateLimit": float(self.throttle.rate),
            "throttlingBurstLimit": self.throttle.burst,
            "metricsEnabled": self.metrics,
        }


# `UpdateStage` patch paths of what `MethodSetting.values` holds.
PATCH_PATHS = {
    "throttlingRateLimit": "throttling/rateLimit",
    "throttlingBurstLimit": "throttling/burstLimit",
    "metricsEnabled": "metrics/enabled",
}


def method_settings(operations: StageOperations, routes: Mapping[str, Iterable[str]]) -> List[MethodSetting]:
    """The stage's default (the read limits), then each write method and each measured
    method with its own entry. Every entry names its throttle: a method's entry replaces
    the stage's default for that method."""
    limits = operations.limits
    settings = [MethodSetting("/*", "*", limits.reads)]
    for path, methods in sorted(routes.items()):
        for method in sorted(methods):
            write = method in WRITE_METHODS
            measured = (method, path) in MEASURED
            if write or measured:
                settings.append(MethodSetting(path, method, limits.writes if write else limits.reads, measured))
    return settings


def app_routes(app: Any) -> Dict[str, List[str]]:
    """The app's routes and their methods (Chalice's `app.routes`)."""
    return {path: sorted(entries) for path, entries in app.routes.items()}
