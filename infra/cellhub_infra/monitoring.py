"""Operations: the alarms that page (SNS) and one CloudWatch dashboard for the whole hub.

Pages: any message in a dead-letter queue, API 5xx responses, a worker crash loop, and each
function's release alarms (errors, latency) which also roll CodeDeploy back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cellhub_infra.live_function import LiveFunction
from cellhub_infra.nag import acknowledge

FIVE_MINUTES = Duration.minutes(5)


class Monitoring(Construct):
    """Attributes: ``topic``, ``dashboard``, ``dlq_alarms`` (by name), ``api_5xx_alarm``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        alarm_email: str | None,
        http_api: apigwv2.HttpApi,
        queues: Mapping[str, sqs.IQueue],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, LiveFunction],
        worker_crash_alarm: cloudwatch.Alarm,
        worker_backlog: cloudwatch.IMetric,
        api_5xx_threshold: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", enforce_ssl=True)
        acknowledge(
            self.topic,
            "Alarm notifications carry alarm names and states only; CloudWatch cannot publish "
            "to a topic encrypted with the AWS-managed SNS key, and a CMK costs $1/month.",
            "AwsSolutions-SNS2",
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        page = actions.SnsAction(self.topic)

        self.dlq_alarms: dict[str, cloudwatch.Alarm] = {}
        for name, dlq in dead_letter_queues.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{name}DeadLetters",
                alarm_description=f"Messages in the {name} dead-letter queue",
                metric=dlq.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(page)
            self.dlq_alarms[name] = alarm

        server_errors = http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        self.api_5xx_alarm = cloudwatch.Alarm(
            self,
            "Api5xx",
            alarm_description="HTTP API 5xx responses",
            metric=server_errors,
            threshold=api_5xx_threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.api_5xx_alarm.add_alarm_action(page)
        worker_crash_alarm.add_alarm_action(page)
        for function in functions.values():
            function.error_alarm.add_alarm_action(page)
            function.latency_alarm.add_alarm_action(page)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API latency (p50, p99)",
                left=[
                    http_api.metric_latency(period=FIVE_MINUTES, statistic="p50"),
                    http_api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API errors",
                left=[server_errors, http_api.metric_client_error(period=FIVE_MINUTES)],
            ),
            cloudwatch.AlarmStatusWidget(
                title="Paging alarms",
                alarms=[*self.dlq_alarms.values(), self.api_5xx_alarm, worker_crash_alarm],
            ),
        )
        self.dashboard.add_widgets(*self._queue_widgets(queues, dead_letter_queues))
        self.dashboard.add_widgets(*self._worker_widgets(worker_backlog, functions))

    @staticmethod
    def _queue_widgets(
        queues: Mapping[str, sqs.IQueue], dead_letter_queues: Mapping[str, sqs.IQueue]
    ) -> Sequence[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Queue depth",
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        label=name, period=FIVE_MINUTES, statistic="Maximum"
                    )
                    for name, queue in queues.items()
                ],
            ),
            cloudwatch.GraphWidget(
                title="Oldest message age (s)",
                left=[
                    queue.metric_approximate_age_of_oldest_message(
                        label=name, period=FIVE_MINUTES, statistic="Maximum"
                    )
                    for name, queue in queues.items()
                ],
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter depth",
                left=[
                    dlq.metric_approximate_number_of_messages_visible(
                        label=name, period=FIVE_MINUTES, statistic="Maximum"
                    )
                    for name, dlq in dead_letter_queues.items()
                ],
            ),
        ]

    @staticmethod
    def _worker_widgets(
        worker_backlog: cloudwatch.IMetric, functions: Mapping[str, LiveFunction]
    ) -> Sequence[cloudwatch.IWidget]:
        images_per_second = cloudwatch.Metric(
            namespace="CellHub",
            metric_name="ImagesPerSecond",
            dimensions_map={"service": "cellhub-worker"},
            statistic="Average",
            period=FIVE_MINUTES,
        )
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="Worker images/s and backlog per worker",
                left=[images_per_second],
                right=[worker_backlog],
            )
        ]
        if "export" in functions:
            alias = functions["export"].alias
            widgets.append(
                cloudwatch.GraphWidget(
                    title="Export duration (ms)",
                    left=[
                        alias.metric_duration(period=FIVE_MINUTES, statistic="p50"),
                        alias.metric_duration(period=FIVE_MINUTES, statistic="Maximum"),
                    ],
                )
            )
        return widgets
