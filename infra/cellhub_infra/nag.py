"""Acknowledging cdk-nag findings: one reason per finding, written next to the resource.

cdk-nag v3 reports through CDK's ``Validations`` API; a finding that is neither fixed nor
acknowledged fails ``app.synth()``. Findings of rules that report one id per detail (IAM5's
``[Resource::...]``, IAM4's ``[Policy::...]``) are acknowledged one by one. Constructs
acknowledge their own findings; the two functions below cover what the stack's grants and
CDK's own provider functions add.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import Construct, IConstruct

# The object actions CDK's bucket grants write as wildcards.
S3_GRANT_ACTIONS = ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*")
# Stack-level singletons CDK adds: S3 notification setup, the web client upload, the events
# log-group policy.
CDK_PROVIDER_PREFIXES = (
    "BucketNotificationsHandler",
    "Custom::CDKBucketDeployment",
    "AWS679f53fac002430cb0da5b7982bd2287",
    "EventsLogGroupPolicy",
)


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge each of ``rule_ids`` on ``scope`` and everything below it, for ``reason``."""
    if len(reason) < 20:
        raise ValueError("an acknowledgment needs a real reason, not a placeholder")
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids)
    )


def logical_id(construct: Construct) -> str:
    """The logical id of ``construct``'s resource, as nag writes it in ``<id.Arn>``."""
    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    return Stack.of(construct).get_logical_id(element)


def acknowledge_grants(
    stack: Stack,
    *,
    bucket: Construct,
    table: Construct,
    websocket_api: Construct,
    mailer: IConstruct,
) -> None:
    """The wildcards in the stack's grants: each is as narrow as the resource allows."""
    acknowledge(
        stack,
        "CDK's bucket grants: object actions (s3:GetObject*, s3:DeleteObject*, s3:Abort*, "
        "s3:List*, s3:GetBucket*) on the one data bucket's objects; the code reads, "
        "writes, deletes and lists keys it builds from ids, and aborts multipart uploads.",
        *(f"AwsSolutions-IAM5[Action::s3:{action}]" for action in S3_GRANT_ACTIONS),
        f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/*]",
    )
    acknowledge(
        stack,
        "Listings query the table's four global secondary indexes: <table>/index/*.",
        f"AwsSolutions-IAM5[Resource::<{logical_id(table)}.Arn>/index/*]",
    )
    acknowledge(
        stack,
        "Publishers post to connections whose ids come and go; the statement names every "
        "connection of the one WebSocket stage and nothing else.",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
        f"<AWS::AccountId>:<{logical_id(websocket_api)}>/live/*/@connections/*]",
    )
    acknowledge(
        mailer,
        "The API mails through whichever verified SES identity the stage names as sender.",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:"
        "<AWS::AccountId>:identity/*]",
    )


def acknowledge_cdk_providers(stack: Stack, *, site_bucket: Construct) -> None:
    """CDK's own provider functions: their runtime and policies are CDK's, not ours."""
    reason = (
        "A provider function that CDK adds and maintains (bucket notifications, the web "
        "client upload, the events log-group policy): its runtime and policies are CDK's."
    )
    for child in stack.node.children:
        if child.node.id.startswith(CDK_PROVIDER_PREFIXES):
            acknowledge(
                child,
                reason,
                "AwsSolutions-L1",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                "service-role/AWSLambdaBasicExecutionRole]",
                "AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions-IAM5[Resource::<{logical_id(site_bucket)}.Arn>/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
                "<AWS::AccountId>-<AWS::Region>/*]",
                *(f"AwsSolutions-IAM5[Action::s3:{action}]" for action in S3_GRANT_ACTIONS),
            )
