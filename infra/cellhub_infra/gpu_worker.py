"""The GPU segmentation worker: an ECS service on EC2 GPU capacity that scales to zero.

Network: public subnets and no NAT gateway. The hosts need outbound HTTPS to reach the API
Gateway management endpoint (``post_to_connection``), which no VPC endpoint serves, and an
idle NAT gateway or interface endpoints would cost more per month than the rest of an idle
hub. Hosts take no inbound traffic (no ingress rule); S3 and DynamoDB traffic stays on free
gateway endpoints. Tasks use bridge networking so they share the host's public address.

Scaling (see ``WorkerScaling``) acts on the segment queue's backlog per running task; the
capacity provider then starts or stops GPU instances to fit the tasks. A task holding a job
sets ECS task scale-in protection itself (``ecs:UpdateTaskProtection``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from cellhub_infra.log_groups import log_group
from cellhub_infra.nag import acknowledge, logical_id

# The worker drains its current image on SIGTERM (see containers/gpu_worker/Dockerfile).
STOP_TIMEOUT = Duration.seconds(120)


class GpuWorker(Construct):
    """VPC, cluster, GPU Auto Scaling group + capacity provider, task definition, service.

    Attributes: ``vpc``, ``cluster``, ``auto_scaling_group``, ``capacity_provider``,
    ``task_definition``, ``service``, ``log_group``, ``crash_alarm``, ``service_name``,
    ``host_role``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        instance_types: Sequence[str],
        max_workers: int,
        memory_mib: int,
        crashes_in_15_min: int,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
        )
        flow_logs = log_group(self, "FlowLogs", log_retention_days)
        self.vpc.add_flow_log(
            "Rejected",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.auto_scaling_group = self._gpu_hosts(instance_types, max_workers)
        self.capacity_provider = ecs.AsgCapacityProvider(
            self,
            "GpuCapacity",
            auto_scaling_group=self.auto_scaling_group,
            enable_managed_scaling=True,
            enable_managed_termination_protection=True,
            target_capacity_percent=100,
        )
        self.cluster.add_asg_capacity_provider(self.capacity_provider)
        acknowledge(
            self.host_role,
            "CDK's ECS agent policy for capacity-provider hosts: registering the instance, "
            "polling for work and submitting task state; these ECS calls take no narrower "
            "resource than the cluster or none at all.",
            "AwsSolutions-IAM5[Action::ecs:Submit*]",
            "AwsSolutions-IAM5[Resource::*]",
        )

        self.log_group = log_group(self, "Logs", log_retention_days)
        self.task_definition = ecs.Ec2TaskDefinition(
            self, "Task", network_mode=ecs.NetworkMode.BRIDGE
        )
        self.task_definition.add_container(
            "worker",
            image=image,
            memory_reservation_mib=memory_mib,
            gpu_count=1,
            environment=dict(environment),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.log_group),
            stop_timeout=STOP_TIMEOUT,
        )
        acknowledge(
            self.task_definition,
            "The worker's environment holds resource names and URLs only; it reads no secret.",
            "AwsSolutions-ECS2",
        )
        acknowledge(
            self.task_definition,
            "ecr:GetAuthorizationToken (pulling the worker image) accepts no resource but *.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        cluster_id = logical_id(self.cluster)
        acknowledge(
            self.task_definition,
            "A task sets scale-in protection on itself; task ids are not known in advance, so "
            "the statement names every task of this one cluster.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:"
            f"<AWS::AccountId>:task/<{cluster_id}>/*]",
        )
        self.task_definition.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"],
                resources=[
                    Stack.of(self).format_arn(
                        service="ecs",
                        resource="task",
                        resource_name=f"{self.cluster.cluster_name}/*",
                    )
                ],
            )
        )
        self.service_name = f"{prefix}-gpu-worker"
        self.crash_alarm = self._crash_alarm(crashes_in_15_min, log_retention_days)
        self.service = ecs.Ec2Service(
            self,
            "Service",
            service_name=self.service_name,
            cluster=self.cluster,
            task_definition=self.task_definition,
            # Scaling owns the count; a deploy starts no GPU host on its own.
            desired_count=0,
            min_healthy_percent=100,
            max_healthy_percent=200,
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=self.capacity_provider.capacity_provider_name, weight=1
                )
            ],
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[self.crash_alarm.alarm_name],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            ),
        )

    def _gpu_hosts(
        self, instance_types: Sequence[str], max_workers: int
    ) -> autoscaling.AutoScalingGroup:
        security_group = ec2.SecurityGroup(
            self,
            "HostSecurityGroup",
            vpc=self.vpc,
            description="GPU worker hosts: no inbound; outbound HTTPS to AWS APIs",
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs")
        role = iam.Role(self, "HostRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        self.host_role = role
        launch_template = ec2.LaunchTemplate(
            self,
            "GpuHost",
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.GPU),
            role=role,
            user_data=ec2.UserData.for_linux(),
            security_group=security_group,
            require_imdsv2=True,
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        100, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )
        group = autoscaling.AutoScalingGroup(
            self,
            "GpuHosts",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_capacity=0,
            max_capacity=max_workers,
            mixed_instances_policy=autoscaling.MixedInstancesPolicy(
                launch_template=launch_template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name))
                    for name in instance_types
                ],
                instances_distribution=autoscaling.InstancesDistribution(
                    on_demand_percentage_above_base_capacity=100,
                    on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                ),
            ),
        )
        acknowledge(
            group,
            "The launch template encrypts the root volume (gp3, Encrypted: true, asserted in "
            "the tests); the rule does not follow a MixedInstancesPolicy to its template.",
            "AwsSolutions-EC26",
        )
        acknowledge(
            group,
            "Scaling is driven by the ECS capacity provider and watched through the "
            "dashboard and the crash-loop alarm; per-instance launch mails would be noise.",
            "AwsSolutions-AS3",
        )
        return group

    def _crash_alarm(self, crashes_in_15_min: int, log_retention_days: int) -> cloudwatch.Alarm:
        # A worker never exits on its own: an essential-container exit or a failed start
        # is a crash. Each one is kept in a log group; the rule's match count is the alarm.
        crash_log = log_group(self, "Crashes", log_retention_days)
        rule = events.Rule(
            self,
            "TaskCrashed",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [self.cluster.cluster_arn],
                    "group": [f"service:{self.service_name}"],
                    "lastStatus": ["STOPPED"],
                    "stopCode": ["EssentialContainerExited", "TaskFailedToStart"],
                },
            ),
            targets=[targets.CloudWatchLogGroup(crash_log)],
        )
        return cloudwatch.Alarm(
            self,
            "CrashLoop",
            alarm_description="GPU worker tasks keep stopping on their own (crash loop)",
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="MatchedEvents",
                dimensions_map={"RuleName": rule.rule_name},
                statistic="Sum",
                period=Duration.minutes(15),
            ),
            threshold=crashes_in_15_min,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
