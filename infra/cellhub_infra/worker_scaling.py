"""Step scaling of the GPU worker service on the segment queue's backlog per running task.

The metric is ``backlog / tasks`` where backlog counts visible and in-flight messages (a
message being worked on still needs its task). With no task running it reads
``backlog * target`` instead, so one waiting message already crosses the scale-out
threshold: that is the 0 -> 1 step. Scale-out looks at one minute; scale-in waits until the
backlog has been zero for ``idle_minutes`` and then removes one task per step, down to the
minimum (0). Tasks still holding a job are protected from scale-in by the worker itself.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(1)


def backlog_per_task(
    *, queue: sqs.IQueue, cluster_name: str, service_name: str, target: int
) -> cloudwatch.MathExpression:
    """Messages waiting or in flight per running task (``backlog * target`` at zero tasks)."""
    tasks = cloudwatch.Metric(
        namespace="ECS/ContainerInsights",
        metric_name="RunningTaskCount",
        dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
        statistic="Average",
        period=PERIOD,
    )
    return cloudwatch.MathExpression(
        expression=(
            "IF(FILL(tasks, 0) < 1, (FILL(visible, 0) + FILL(inflight, 0)) * "
            f"{target}, (FILL(visible, 0) + FILL(inflight, 0)) / FILL(tasks, 1))"
        ),
        using_metrics={
            "visible": queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "inflight": queue.metric_approximate_number_of_messages_not_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "tasks": tasks,
        },
        label="Segment backlog per worker",
        period=PERIOD,
    )


class WorkerScaling(Construct):
    """Attributes: ``scalable_target``, ``metric`` (backlog per task)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: ecs.Ec2Service,
        service_name: str,
        queue: sqs.IQueue,
        min_workers: int,
        max_workers: int,
        target: int,
        idle_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.metric = backlog_per_task(
            queue=queue,
            cluster_name=service.cluster.cluster_name,
            service_name=service_name,
            target=target,
        )
        self.scalable_target = service.auto_scale_task_count(
            min_capacity=min_workers, max_capacity=max_workers
        )
        self.scalable_target.scale_on_metric(
            "ScaleOut",
            metric=self.metric,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            scaling_steps=[
                appscaling.ScalingInterval(upper=target, change=0),
                appscaling.ScalingInterval(lower=target, change=1),
                appscaling.ScalingInterval(lower=target * 4, change=3),
            ],
            evaluation_periods=1,
            cooldown=Duration.minutes(3),
        )
        self.scalable_target.scale_on_metric(
            "ScaleIn",
            metric=self.metric,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            scaling_steps=[
                appscaling.ScalingInterval(upper=0, change=-1),
                appscaling.ScalingInterval(lower=0.5, change=0),
            ],
            evaluation_periods=idle_minutes,
            datapoints_to_alarm=idle_minutes,
            cooldown=Duration.minutes(2),
        )
