"""How a cancelled ``TransactWriteItems`` is read. moto cancels transactions only for failed
conditions, never for throttling or validation, so these cases are stubbed with botocore's
Stubber: only a failed condition may come back as "the condition did not hold"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cellhub.adapters.aws import dynamodb_records
from cellhub.adapters.aws.dynamodb_records import DynamoRepository, put_action
from cellhub.errors import ProcessingError, WriteContention

ACTIONS = [put_action({"pk": "JOB#j", "sk": "OUTCOME#i"}), put_action({"pk": "JOB#j", "sk": "JOB"})]


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoRepository, Stubber]]:
    monkeypatch.setattr(dynamodb_records.time, "sleep", lambda _seconds: None)
    dynamodb = boto3.resource(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    table = dynamodb.Table("hub")  # its client takes plain values, as the adapters pass them
    with Stubber(table.meta.client) as stubber:
        yield DynamoRepository(table), stubber
        stubber.assert_no_pending_responses()


def cancel(stubber: Stubber, *codes: str) -> None:
    reasons: list[dict[str, Any]] = [{"Code": code} for code in codes]
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        modeled_fields={"CancellationReasons": reasons},
    )


def test_a_failed_condition_is_answered_with_its_codes(
    stubbed: tuple[DynamoRepository, Stubber],
) -> None:
    repository, stubber = stubbed
    cancel(stubber, "ConditionalCheckFailed", "None")
    assert repository._transact(ACTIONS) == ["ConditionalCheckFailed", "None"]


def test_a_throttled_transaction_is_tried_again_not_read_as_a_failed_condition(
    stubbed: tuple[DynamoRepository, Stubber],
) -> None:
    repository, stubber = stubbed
    cancel(stubber, "ThrottlingError", "None")
    cancel(stubber, "None", "TransactionConflict")
    stubber.add_response("transact_write_items", {})
    assert repository._transact(ACTIONS) is None


def test_a_transaction_that_keeps_being_throttled_is_a_retryable_contention(
    stubbed: tuple[DynamoRepository, Stubber],
) -> None:
    repository, stubber = stubbed
    for _ in range(dynamodb_records._CONFLICT_RETRIES):
        cancel(stubber, "ThrottlingError", "None")
    with pytest.raises(WriteContention) as raised:
        repository._transact(ACTIONS)
    assert not raised.value.permanent


def test_a_validation_refusal_is_an_error_not_a_failed_condition(
    stubbed: tuple[DynamoRepository, Stubber],
) -> None:
    repository, stubber = stubbed
    cancel(stubber, "ValidationError", "None")
    with pytest.raises(ProcessingError, match="ValidationError"):
        repository._transact(ACTIONS)
