"""Stage settings: every number and name that differs between ``dev`` and ``prod``, in one place.

A stage is picked with ``cdk synth -c stage=prod`` (default ``dev``); ``STAGES`` holds both and
``stage_config`` looks one up. Constructs take the values they need as keyword arguments and
never read this module themselves, so a test can build any construct with any numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Stands in for the lab's verified SES sender until ``-c mail_sender=…`` names it; a deploy
# (``cellhub:lambda-assets=build``) refuses to go out with it.
PLACEHOLDER_SENDER = "no-reply@example.org"


@dataclass(frozen=True, slots=True)
class FunctionSizing:
    """Memory (MB), timeout (s), /tmp size (MB) and reserved concurrency of a function.

    Reserved concurrency is None (the account pool) by default: reserving any fails the
    deploy on a new account whose concurrency limit is still the initial low one.
    """

    memory_mb: int
    timeout_s: int
    ephemeral_mb: int = 512
    reserved_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class StageConfig:
    """One deployment of the hub: names, sizes, scaling, alarms, retention, release strategy."""

    name: str
    # Resource names are "<prefix>-<name>-..."; keep it short (queue and role name limits).
    prefix: str = "cellhub"
    region: str | None = None
    account: str | None = None
    # Web client: a custom domain with an ACM certificate in us-east-1, or the CloudFront name.
    web_domain: str | None = None
    web_certificate_arn: str | None = None
    mail_sender: str = PLACEHOLDER_SENDER
    alarm_email: str | None = None
    api: FunctionSizing = field(default_factory=lambda: FunctionSizing(1024, 29))
    websocket: FunctionSizing = field(default_factory=lambda: FunctionSizing(512, 10))
    thumbnail: FunctionSizing = field(default_factory=lambda: FunctionSizing(3008, 120))
    # An export's ZIP is built in a temporary file before it is stored: /tmp holds it.
    export: FunctionSizing = field(
        default_factory=lambda: FunctionSizing(3008, 900, ephemeral_mb=10_240)
    )
    # HTTP API throttling (requests/s, burst) for every route and, lower, for the auth routes.
    api_rate: int = 200
    api_burst: int = 400
    auth_rate: int = 10
    auth_burst: int = 20
    websocket_rate: int = 100
    websocket_burst: int = 200
    # GPU workers: instance types tried in order, and the task count range (min 0: idle costs 0).
    gpu_instance_types: tuple[str, ...] = ("g4dn.xlarge",)
    min_workers: int = 0
    max_workers: int = 2
    worker_memory_mib: int = 12_000
    # Seconds the longest segment message (one chunk of images) may take; sizes its visibility.
    longest_batch_s: int = 900
    # Queue messages per running worker above which another worker starts.
    backlog_per_worker: int = 20
    # Minutes with an empty segment queue before workers scale in one by one.
    idle_minutes_before_scale_in: int = 15
    # The adapters dead-letter a message at this receive count; SQS redrive sits one above.
    max_receives: int = 3
    export_expiry_days: int = 7
    noncurrent_version_days: int = 30
    log_retention_days: int = 30
    # Alarms: API 5xx per 5 minutes, function p99 duration as a share of its timeout.
    api_5xx_threshold: int = 5
    latency_share_of_timeout: float = 0.8
    worker_crashes_in_15_min: int = 3
    canary_release: bool = True
    retain_data: bool = True
    # API Gateway writes WebSocket logs through one account-wide role; a stack may own it.
    manage_apigateway_account_role: bool = True

    @property
    def resource_prefix(self) -> str:
        return f"{self.prefix}-{self.name}"


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        max_workers=1,
        log_retention_days=14,
        canary_release=False,
        retain_data=False,
    ),
    "prod": StageConfig(
        name="prod",
        gpu_instance_types=("g5.xlarge", "g4dn.xlarge"),
        max_workers=8,
        api=FunctionSizing(1769, 29),
        log_retention_days=90,
        canary_release=True,
        retain_data=True,
    ),
}


def stage_config(name: str) -> StageConfig:
    """The settings of stage ``name``; an unknown name is a ``KeyError`` listing the stages."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; choose one of {sorted(STAGES)}") from None
