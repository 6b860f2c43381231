"""HubQueues and the event sources: uploads -> thumbnails, export FIFO, segment queue, DLQs."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from cellhub.services.uploads import original_key
from cellhub_infra.config import STAGES
from cellhub_infra.queues import UPLOAD_EVENT_PREFIX
from cellhub_infra.stack import CellHubStack

pytestmark = pytest.mark.slow


def _queue(template: Template, name: str) -> dict:  # type: ignore[type-arg]
    (queue,) = template.find_resources(
        "AWS::SQS::Queue", {"Properties": {"QueueName": name}}
    ).values()
    properties: dict = queue["Properties"]  # type: ignore[type-arg]
    return properties


def test_originals_raise_notifications_into_the_uploads_queue(prod: Template) -> None:
    assert original_key("p1", "i1").startswith(UPLOAD_EVENT_PREFIX)
    (notifications,) = prod.find_resources("Custom::S3BucketNotifications").values()
    (queue_config,) = notifications["Properties"]["NotificationConfiguration"][
        "QueueConfigurations"
    ]
    assert queue_config["Events"] == ["s3:ObjectCreated:*"]
    assert queue_config["Filter"] == {
        "Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_EVENT_PREFIX}]}
    }
    assert "QueuesUploads" in json.dumps(queue_config["QueueArn"])


def test_every_queue_dead_letters_one_receive_after_the_adapters(prod: Template) -> None:
    redrive_counts = [
        q["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        for q in prod.find_resources("AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    ]
    assert redrive_counts == [STAGES["prod"].max_receives + 1] * 3
    for queue in prod.find_resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_export_queue_and_its_dlq_are_fifo(prod: Template) -> None:
    export = _queue(prod, "cellhub-prod-export.fifo")
    assert export["FifoQueue"] is True
    assert export.get("ContentBasedDeduplication") in (None, False)  # the API sends ids
    assert _queue(prod, "cellhub-prod-export-dlq.fifo")["FifoQueue"] is True
    assert "FifoQueue" not in _queue(prod, "cellhub-prod-segment")


def test_visibility_timeouts_fit_their_consumers(prod: Template) -> None:
    config = STAGES["prod"]
    assert _queue(prod, "cellhub-prod-uploads")["VisibilityTimeout"] == (
        6 * config.thumbnail.timeout_s
    )
    assert _queue(prod, "cellhub-prod-export.fifo")["VisibilityTimeout"] == (
        6 * config.export.timeout_s
    )
    assert _queue(prod, "cellhub-prod-segment")["VisibilityTimeout"] == config.longest_batch_s


def test_thumbnail_and_export_aliases_consume_with_partial_batch_failures(
    prod: Template, prod_stack: CellHubStack
) -> None:
    mappings = prod.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    for name, queue, batch in (("thumbnail", "QueuesUploads", 10), ("export", "QueuesExport", 1)):
        alias = prod_stack.get_logical_id(
            prod_stack.functions[name].alias.node.default_child  # type: ignore[arg-type]
        )
        (mapping,) = (
            m["Properties"]
            for m in mappings.values()
            if queue in m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        )
        # <function name>:live, the name taken from the alias's ARN.
        assert alias in json.dumps(mapping["FunctionName"])
        assert mapping["FunctionName"]["Fn::Join"][1][-1] == ":live"
        assert mapping["BatchSize"] == batch
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
