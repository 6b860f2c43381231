"""Project models in the bucket: the GPU worker reads and writes ``models/*`` (weights, cards,
reports, uploads to check), the API presigns uploads there and reads and deletes cards and
reports, and nothing under ``models/`` raises an upload notification."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Template

from cellhub.services.project_models import models_prefix, upload_key
from cellhub_infra.queues import UPLOAD_EVENT_PREFIX
from cellhub_infra.stack import CellHubStack

pytestmark = pytest.mark.slow


def _object_actions(template: Template, stack: CellHubStack, role: Any) -> set[str]:
    """The S3 actions the role may take on the data bucket's objects (``<bucket arn>/*``)."""
    role_id = _logical_id(stack, role)
    bucket_id = _logical_id(stack, stack.data.bucket)
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        properties = policy["Properties"]
        if {"Ref": role_id} not in properties.get("Roles", []):
            continue
        for statement in properties["PolicyDocument"]["Statement"]:
            resources = json.dumps(statement.get("Resource", ""))
            if bucket_id in resources and "/*" in resources and statement["Effect"] == "Allow":
                found = statement["Action"]
                actions.update([found] if isinstance(found, str) else found)
    return actions


def _logical_id(stack: CellHubStack, construct: Any) -> str:
    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    return Stack.of(stack).get_logical_id(element)


def _allows(actions: set[str], wanted: str) -> bool:
    return any(wanted == a or (a.endswith("*") and wanted.startswith(a[:-1])) for a in actions)


def test_the_worker_reads_and_writes_project_models(
    prod: Template, prod_stack: CellHubStack
) -> None:
    actions = _object_actions(prod, prod_stack, prod_stack.worker.task_definition.task_role)
    assert _allows(actions, "s3:GetObject") and _allows(actions, "s3:PutObject")


def test_the_api_presigns_model_uploads_and_deletes_models(
    prod: Template, prod_stack: CellHubStack
) -> None:
    role = prod_stack.functions["api"].function.role
    actions = _object_actions(prod, prod_stack, role)
    for wanted in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert _allows(actions, wanted), wanted


def test_models_raise_no_upload_notifications() -> None:
    assert not models_prefix("p1").startswith(UPLOAD_EVENT_PREFIX)
    assert not upload_key("p1", "u1").startswith(UPLOAD_EVENT_PREFIX)
