"""GpuWorker and WorkerScaling: GPU hosts from a launch template, a service that scales to 0."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from cellhub_infra.config import STAGES

pytestmark = pytest.mark.slow


def test_gpu_hosts_come_from_a_launch_template_never_a_launch_configuration(
    prod: Template,
) -> None:
    prod.resource_count_is("AWS::AutoScaling::LaunchConfiguration", 0)
    (template,) = prod.find_resources("AWS::EC2::LaunchTemplate").values()
    data = template["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (device,) = data["BlockDeviceMappings"]
    assert device["Ebs"]["Encrypted"] is True
    image_parameter = json.dumps(prod.to_json()["Parameters"])
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/" in image_parameter
    (group,) = prod.find_resources("AWS::AutoScaling::AutoScalingGroup").values()
    properties = group["Properties"]
    assert properties["MinSize"] == "0"
    assert properties["MaxSize"] == str(STAGES["prod"].max_workers)
    overrides = properties["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == list(STAGES["prod"].gpu_instance_types)
    assert properties["NewInstancesProtectedFromScaleIn"] is True


def test_vpc_has_no_nat_gateway_and_gateway_endpoints(prod: Template) -> None:
    prod.resource_count_is("AWS::EC2::NatGateway", 0)
    endpoints = prod.find_resources("AWS::EC2::VPCEndpoint")
    services = json.dumps([e["Properties"]["ServiceName"] for e in endpoints.values()])
    assert ".s3" in services and ".dynamodb" in services
    prod.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})
    (group,) = prod.find_resources("AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]


def test_capacity_provider_scales_the_gpu_hosts(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": Match.object_like(
                {
                    "ManagedScaling": Match.object_like(
                        {"Status": "ENABLED", "TargetCapacity": 100}
                    ),
                    "ManagedTerminationProtection": "ENABLED",
                }
            )
        },
    )


def test_task_uses_one_gpu_drains_for_120_s_and_may_protect_itself(prod: Template) -> None:
    (task,) = prod.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
    assert container["StopTimeout"] == 120
    environment = {e["Name"] for e in container["Environment"]}
    assert {"AWS_REGION", "CELLHUB_SEGMENT_QUEUE_URL", "CELLHUB_WEBSOCKET_ENDPOINT"} <= environment
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    protection = [
        p
        for p in prod.find_resources("AWS::IAM::Policy").values()
        if "ecs:UpdateTaskProtection" in json.dumps(p)
    ]
    assert len(protection) == 1


def test_service_rolls_back_on_circuit_breaker_and_crash_alarm(prod: Template) -> None:
    (service,) = prod.find_resources("AWS::ECS::Service").values()
    properties = service["Properties"]
    assert properties["DesiredCount"] == 0
    deployment = properties["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["Alarms"]["Enable"] is True and deployment["Alarms"]["Rollback"] is True
    assert "CrashLoop" in json.dumps(deployment["Alarms"]["AlarmNames"])
    assert properties["CapacityProviderStrategy"][0]["Weight"] == 1
    prod.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {"detail": Match.object_like({"lastStatus": ["STOPPED"]})}
            )
        },
    )


def test_backlog_scaling_steps_from_zero_to_one_and_back_to_zero(prod: Template) -> None:
    config = STAGES["prod"]
    prod.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 0, "MaxCapacity": 8}
    )
    policies = {
        name: p["Properties"]["StepScalingPolicyConfiguration"]
        for name, p in prod.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
    }
    (scale_out,) = (p for name, p in policies.items() if "ScaleOut" in name)
    (scale_in,) = (p for name, p in policies.items() if "ScaleIn" in name)
    assert scale_out["StepAdjustments"][0]["ScalingAdjustment"] == 1
    assert scale_in["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]
    alarms = prod.find_resources("AWS::CloudWatch::Alarm")
    (out_alarm,) = (a["Properties"] for name, a in alarms.items() if "ScaleOutUpper" in name)
    (in_alarm,) = (a["Properties"] for name, a in alarms.items() if "ScaleInLower" in name)
    # At zero tasks the metric reads backlog * target: one message reaches the threshold.
    assert out_alarm["Threshold"] == config.backlog_per_worker
    assert out_alarm["EvaluationPeriods"] == 1
    expression = next(m["Expression"] for m in out_alarm["Metrics"] if "Expression" in m)
    assert f"* {config.backlog_per_worker}" in expression and "FILL(tasks, 0) < 1" in expression
    assert in_alarm["Threshold"] == 0
    assert in_alarm["EvaluationPeriods"] == config.idle_minutes_before_scale_in


def test_worker_may_receive_and_delete_its_dead_letters(prod: Template) -> None:
    """The idle worker turns dead-lettered chunks into failed images: receive + delete."""
    (task,) = prod.find_resources("AWS::ECS::TaskDefinition").values()
    task_role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    (dlq_id,) = [
        name
        for name, queue in prod.find_resources("AWS::SQS::Queue").items()
        if str(queue["Properties"].get("QueueName", "")).endswith("segment-dlq")
    ]
    granted: set[str] = set()
    for policy in prod.find_resources("AWS::IAM::Policy").values():
        if {"Ref": task_role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if dlq_id in json.dumps(statement.get("Resource")):
                actions = statement["Action"]
                granted |= {actions} if isinstance(actions, str) else set(actions)
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= granted
