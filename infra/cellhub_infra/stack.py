"""One deployment of the hub: the constructs of every concern, wired together with grants.

Each construct owns its resources; this stack passes names and URLs between them as
environment variables and grants each consumer exactly what its code calls.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, IgnoreMode, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from cellhub_infra.assets import LambdaAssets
from cellhub_infra.config import FunctionSizing, StageConfig
from cellhub_infra.data import HubData
from cellhub_infra.gpu_worker import GpuWorker
from cellhub_infra.http_api import HubHttpApi
from cellhub_infra.live_function import RUNTIME, LiveFunction
from cellhub_infra.log_groups import give_every_function_a_log_group
from cellhub_infra.monitoring import Monitoring
from cellhub_infra.nag import acknowledge_cdk_providers, acknowledge_grants
from cellhub_infra.queues import HubQueues
from cellhub_infra.web_hosting import WebHosting
from cellhub_infra.websocket_api import HubWebSocketApi
from cellhub_infra.worker_scaling import WorkerScaling

# The worker image is built from the repository root; only what its Dockerfile copies.
WORKER_CONTEXT_EXCLUDES = [
    "*",
    "!pyproject.toml",
    "!README.md",
    "!layers",
    "!functions",
    "!containers/gpu_worker",
    "!local",
    "**/__pycache__",
    "**/*.egg-info",
]


class CellHubStack(Stack):
    """Attributes: ``data``, ``queues``, ``functions`` (by name), ``http_api``, ``websocket``,
    ``worker``, ``scaling``, ``web``, ``monitoring``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        assets: LambdaAssets,
        env: Environment | None = None,
        description: str | None = None,
        termination_protection: bool = False,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=description,
            termination_protection=termination_protection,
        )
        self.config = config
        self.assets = assets
        prefix = config.resource_prefix
        self.data = HubData(
            self,
            "Data",
            prefix=prefix,
            export_expiry_days=config.export_expiry_days,
            noncurrent_version_days=config.noncurrent_version_days,
            retain=config.retain_data,
        )
        self.web = WebHosting(
            self,
            "Web",
            log_bucket=self.data.log_bucket,
            domain_name=config.web_domain,
            certificate_arn=config.web_certificate_arn,
            retain=config.retain_data,
        )
        self.data.allow_browser_uploads([self.web.origin])
        self.queues = HubQueues(
            self,
            "Queues",
            prefix=prefix,
            bucket=self.data.bucket,
            max_receives=config.max_receives,
            thumbnail_timeout_s=config.thumbnail.timeout_s,
            export_timeout_s=config.export.timeout_s,
            longest_batch_s=config.longest_batch_s,
        )
        self.layer = lambda_.LayerVersion(
            self,
            "CoreLayer",
            code=lambda_.Code.from_asset(str(assets.path("layer"))),
            compatible_runtimes=[RUNTIME],
            description="cellhub core (settings, ports, adapters, domain, services)",
        )
        self.functions = {
            "api": self._function("Api", "api", "cellhub_api.handler.handler", config.api),
            "websocket": self._function(
                "WebSocket", "websocket", "cellhub_api.websocket_handlers.handler", config.websocket
            ),
            "thumbnail": self._function(
                "Thumbnail", "thumbnail", "cellhub_thumbnail.handler.handler", config.thumbnail
            ),
            "export": self._function(
                "Export", "export", "cellhub_export.handler.handler", config.export
            ),
        }
        self.http_api = HubHttpApi(
            self,
            "Http",
            handler=self.functions["api"].alias,
            allowed_origins=[self.web.origin],
            rate=config.api_rate,
            burst=config.api_burst,
            auth_rate=config.auth_rate,
            auth_burst=config.auth_burst,
            log_retention_days=config.log_retention_days,
        )
        self.websocket = HubWebSocketApi(
            self,
            "Live",
            handler=self.functions["websocket"].alias,
            rate=config.websocket_rate,
            burst=config.websocket_burst,
            log_retention_days=config.log_retention_days,
            manage_account_role=config.manage_apigateway_account_role,
        )
        self.functions["thumbnail"].alias.add_event_source(
            event_sources.SqsEventSource(
                self.queues.uploads, batch_size=10, report_batch_item_failures=True
            )
        )
        self.functions["export"].alias.add_event_source(
            event_sources.SqsEventSource(
                self.queues.export, batch_size=1, report_batch_item_failures=True
            )
        )
        self.worker = GpuWorker(
            self,
            "Worker",
            prefix=prefix,
            image=ecs.ContainerImage.from_asset(
                str(assets.worker_context),
                file=assets.worker_dockerfile,
                exclude=WORKER_CONTEXT_EXCLUDES,
                ignore_mode=IgnoreMode.DOCKER,
            ),
            environment={
                **self._environment(),
                "AWS_REGION": self.region,
                "CELLHUB_WEBSOCKET_ENDPOINT": self.websocket.callback_url,
            },
            instance_types=config.gpu_instance_types,
            max_workers=config.max_workers,
            memory_mib=config.worker_memory_mib,
            crashes_in_15_min=config.worker_crashes_in_15_min,
            log_retention_days=config.log_retention_days,
        )
        self.scaling = WorkerScaling(
            self,
            "WorkerScaling",
            service=self.worker.service,
            service_name=self.worker.service_name,
            queue=self.queues.segment,
            min_workers=config.min_workers,
            max_workers=config.max_workers,
            target=config.backlog_per_worker,
            idle_minutes=config.idle_minutes_before_scale_in,
        )
        self._grant()
        self.web.deploy_client(
            web_folder=assets.web_client,
            config={"apiUrl": self.http_api.url, "websocketUrl": self.websocket.url},
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            dashboard_name=prefix,
            alarm_email=config.alarm_email,
            http_api=self.http_api.api,
            queues={
                "uploads": self.queues.uploads,
                "segment": self.queues.segment,
                "export": self.queues.export,
            },
            dead_letter_queues={
                "uploads": self.queues.uploads_dlq,
                "segment": self.queues.segment_dlq,
                "export": self.queues.export_dlq,
            },
            functions=self.functions,
            worker_crash_alarm=self.worker.crash_alarm,
            worker_backlog=self.scaling.metric,
            api_5xx_threshold=config.api_5xx_threshold,
        )
        CfnOutput(self, "WebUrl", value=self.web.origin)
        CfnOutput(self, "ApiUrl", value=self.http_api.url)
        CfnOutput(self, "WebSocketUrl", value=self.websocket.url)
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "BucketName", value=self.data.bucket.bucket_name)
        acknowledge_cdk_providers(self, site_bucket=self.web.bucket)
        give_every_function_a_log_group(self, config.log_retention_days)

    def _environment(self) -> dict[str, str]:
        """What ``cellhub.adapters.aws.wiring.AwsResources.from_env`` reads (AWS_REGION aside)."""
        return {
            "CELLHUB_TABLE_NAME": self.data.table.table_name,
            "CELLHUB_BUCKET_NAME": self.data.bucket.bucket_name,
            "CELLHUB_SEGMENT_QUEUE_URL": self.queues.segment.queue_url,
            "CELLHUB_SEGMENT_DLQ_URL": self.queues.segment_dlq.queue_url,
            "CELLHUB_EXPORT_QUEUE_URL": self.queues.export.queue_url,
            "CELLHUB_EXPORT_DLQ_URL": self.queues.export_dlq.queue_url,
            "CELLHUB_MAX_RECEIVES": str(self.config.max_receives),
            "CELLHUB_PUBLIC_URL": self.web.origin,
        }

    def _function(
        self, construct_id: str, asset: str, handler: str, sizing: FunctionSizing
    ) -> LiveFunction:
        environment = {
            **self._environment(),
            "CELLHUB_JWT_SECRET_ARN": self.data.jwt_secret.secret_arn,
            "CELLHUB_MAIL_SENDER": self.config.mail_sender,
        }
        return LiveFunction(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(self.assets.path(asset))),
            handler=handler,
            layers=[self.layer],
            memory_mb=sizing.memory_mb,
            timeout_s=sizing.timeout_s,
            ephemeral_mb=sizing.ephemeral_mb,
            reserved_concurrency=sizing.reserved_concurrency,
            environment=environment,
            log_retention_days=self.config.log_retention_days,
            canary=self.config.canary_release,
            latency_share_of_timeout=self.config.latency_share_of_timeout,
            description=f"cellhub {asset} ({self.config.name})",
        )

    def _grant(self) -> None:
        data, queues, functions = self.data, self.queues, self.functions
        publishers: list[iam.IGrantable] = [f.function for f in functions.values()]
        publishers.append(self.worker.task_definition.task_role)
        for name, live in functions.items():
            live.function.add_environment("CELLHUB_WEBSOCKET_ENDPOINT", self.websocket.callback_url)
            data.table.grant_read_write_data(live.function)
            if name != "websocket":
                data.bucket.grant_read_write(live.function)
                data.bucket.grant_delete(live.function)
            if name in ("api", "websocket"):
                data.jwt_secret.grant_read(live.function)
        api = functions["api"].function
        queues.segment.grant_send_messages(api)
        queues.export.grant_send_messages(api)
        api.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[self.format_arn(service="ses", resource="identity", resource_name="*")],
            )
        )
        # The adapters dead-letter a message themselves at max_receives.
        queues.export_dlq.grant_send_messages(functions["export"].function)
        worker_role = self.worker.task_definition.task_role
        data.table.grant_read_write_data(worker_role)
        data.bucket.grant_read_write(worker_role)
        queues.segment.grant_consume_messages(worker_role)
        # The worker dead-letters chunks itself at max_receives, and when idle turns the
        # dead-lettered ones into failed images (receive + delete on the DLQ).
        queues.segment_dlq.grant_send_messages(worker_role)
        queues.segment_dlq.grant_consume_messages(worker_role)
        for publisher in publishers:
            self.websocket.stage.grant_management_api_access(publisher)
        acknowledge_grants(
            self,
            bucket=data.bucket,
            table=data.table,
            websocket_api=self.websocket.api,
            mailer=api,
        )
