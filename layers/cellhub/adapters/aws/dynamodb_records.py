"""What the DynamoDB repositories share: value encodings, page cursors and table access.

Every repository talks to the table through the low-level client of the ``Table`` resource it
was given (``table.meta.client``): botocore clients are thread-safe where resources are not,
and a resource's client still takes and returns plain Python values (boto3 registers its
type (de)serialisers on it). Floats go in as ``Decimal`` and come back as ``float``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder, Key
from botocore.exceptions import ClientError

from cellhub.adapters.aws.dynamodb_expressions import Expression
from cellhub.errors import InvalidParameter, ProcessingError, WriteContention

# DynamoDB refuses items over 400 KB; stay clear of it so a size estimate error cannot bite.
MAX_ITEM_BYTES = 350_000
# At most 100 actions per TransactWriteItems and 25 per BatchWriteItem.
TRANSACTION_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
_BATCH_GET_LIMIT = 100
_CONFLICT_RETRIES = 8
# Cancellation codes of a transaction worth trying again (nothing about the data was wrong).
_RETRYABLE_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def time_to_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text: text order is time order."""
    if moment.tzinfo is None:
        raise InvalidParameter("datetimes must be timezone-aware", value=str(moment))
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def time_from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def ttl_seconds(moment: datetime) -> int:
    """The TTL attribute value: epoch seconds, rounded up so nothing goes before its time."""
    return math.ceil(moment.timestamp())


def to_decimal(value: float | None) -> Decimal | None:
    # Through str, so 0.325 is stored as 0.325 rather than as its binary expansion.
    return None if value is None else Decimal(str(value))


def to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def without_none(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item minus None values: an absent attribute reads back as None."""
    return {name: value for name, value in item.items() if value is not None}


def item_size(item: Mapping[str, Any]) -> int:
    """An upper estimate of the stored size of ``item`` in bytes (names plus values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode()) + 1 + _value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + _value_size(v) for v in value)
    return 22  # numbers take at most 21 bytes; booleans and nulls one


def guard_item_size(item: Mapping[str, Any]) -> None:
    """Refuse an item that DynamoDB would refuse, with an error that names the record."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise InvalidParameter(
            "record too large to store", pk=item.get("pk"), size=size, limit=MAX_ITEM_BYTES
        )


def encode_cursor(kind: str, position: str) -> str:
    """An opaque url-safe cursor: the index sort key of the last item of a page."""
    raw = json.dumps([kind, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> str:
    """The position of ``encode_cursor``; ``InvalidParameter`` if malformed or foreign."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_kind, position = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidParameter("malformed page cursor", cursor=cursor) from error
    if cursor_kind != kind or not isinstance(position, str):
        raise InvalidParameter("page cursor belongs to another listing", cursor=cursor)
    return position


def key_condition(condition: ConditionBase) -> dict[str, Any]:
    """The query arguments of a ``Key`` condition, built by a builder of its own.

    A resource's client would take the condition object itself, but builds it with one
    builder shared by every thread on that client, whose placeholder counters the threads
    would reset under each other.
    """
    built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=True)
    return {
        "KeyConditionExpression": built.condition_expression,
        "ExpressionAttributeNames": built.attribute_name_placeholders,
        "ExpressionAttributeValues": built.attribute_value_placeholders,
    }


def is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_codes(error: ClientError) -> list[str] | None:
    """Per action of a cancelled transaction, its failure code ("None" when it passed).

    None when ``error`` is not a cancelled transaction (the caller re-raises it).
    """
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


class DynamoRepository:
    """Base of the DynamoDB repositories: one table, reached through its thread-safe client."""

    def __init__(self, table: Any) -> None:
        self._client = table.meta.client
        self._table_name: str = table.name

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        reply = self._client.get_item(
            TableName=self._table_name, Key={"pk": pk, "sk": sk}, ConsistentRead=True
        )
        item: dict[str, Any] | None = reply.get("Item")
        return item

    def _get_many(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """The items that exist of ``keys`` (in no particular order), strongly consistent."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self._table_name: {
                    "Keys": [
                        {"pk": pk, "sk": sk} for pk, sk in keys[start : start + _BATCH_GET_LIMIT]
                    ],
                    "ConsistentRead": True,
                }
            }
            while pending:
                reply = self._client.batch_get_item(RequestItems=pending)
                found += reply.get("Responses", {}).get(self._table_name, [])
                pending = reply.get("UnprocessedKeys") or {}
        return found

    def _query(self, condition: ConditionBase, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a query, fetched page by page as the caller iterates."""
        kwargs.update(key_condition(condition), TableName=self._table_name)
        while True:
            reply = self._client.query(**kwargs)
            yield from reply.get("Items", [])
            if "LastEvaluatedKey" not in reply:
                return
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def _partition(self, pk: str, sk_prefix: str | None = None) -> Iterator[dict[str, Any]]:
        """The items of one base-table partition (optionally of one kind), by sort key."""
        condition = Key("pk").eq(pk)
        if sk_prefix is not None:
            condition = condition & Key("sk").begins_with(sk_prefix)
        return self._query(condition, ConsistentRead=True)

    def _delete_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        """Delete items in batches of 25, retrying what DynamoDB leaves unprocessed."""
        unique = list(dict.fromkeys(keys))  # a batch may not name one item twice
        for start in range(0, len(unique), _BATCH_WRITE_LIMIT):
            requests = [
                {"DeleteRequest": {"Key": {"pk": pk, "sk": sk}}}
                for pk, sk in unique[start : start + _BATCH_WRITE_LIMIT]
            ]
            pending: dict[str, Any] = {self._table_name: requests}
            while pending:
                reply = self._client.batch_write_item(RequestItems=pending)
                pending = reply.get("UnprocessedItems") or {}

    def _delete_partition(self, pk: str) -> None:
        self._delete_keys([(item["pk"], item["sk"]) for item in self._partition(pk)])

    def _update(
        self, pk: str, sk: str, expression: Expression, *, returns: str = "NONE"
    ) -> dict[str, Any] | None:
        """Run one ``UpdateItem``; None when its condition failed, else the returned values."""
        reply = self._write(
            self._client.update_item,
            Key={"pk": pk, "sk": sk},
            ReturnValues=returns,
            **expression.parts(),
        )
        return None if reply is None else reply.get("Attributes", {})

    def _put(self, item: Mapping[str, Any], expression: Expression | None = None) -> bool:
        """Run one ``PutItem``; False when its condition failed."""
        guard_item_size(item)
        parts = expression.parts() if expression else {}
        return self._write(self._client.put_item, Item=dict(item), **parts) is not None

    def _write(self, operation: Any, **kwargs: Any) -> dict[str, Any] | None:
        """Run a single-item write; None when its condition failed.

        A write to an item that an in-flight transaction holds is refused with
        ``TransactionConflictException``; it is tried again after a short pause.
        """
        for attempt in range(_CONFLICT_RETRIES):
            try:
                reply: dict[str, Any] = operation(TableName=self._table_name, **kwargs)
            except ClientError as error:
                if is_conditional_failure(error):
                    return None
                if error.response.get("Error", {}).get("Code") != "TransactionConflictException":
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
                continue
            return reply
        raise WriteContention("write kept conflicting with concurrent transactions")

    def _transact(self, actions: Sequence[dict[str, Any]]) -> list[str] | None:
        """Run one ``TransactWriteItems``; None when it committed, else its cancellation codes.

        Only a failed condition is answered with codes: a transaction that lost to another
        in-flight transaction on one of its items, or was throttled, with no failed condition,
        is tried again after a short pause, and raises ``WriteContention`` if it keeps losing;
        any other refusal (a validation error, an item too large) raises ``ProcessingError``.
        Callers can therefore read codes as "a condition did not hold".
        """
        for action in actions:
            next(iter(action.values()))["TableName"] = self._table_name
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self._client.transact_write_items(TransactItems=list(actions))
            except ClientError as error:
                codes = cancellation_codes(error)
                if codes is None:
                    raise
                failed = {code for code in codes if code != "None"}
                if not failed or "ConditionalCheckFailed" in failed:
                    return codes
                if failed <= _RETRYABLE_CANCELLATIONS:
                    time.sleep(random.uniform(0, 0.01 * 2**attempt))
                    continue
                raise ProcessingError(
                    f"DynamoDB refused the transaction: {', '.join(sorted(failed))}"
                ) from error
            return None
        raise WriteContention("transaction kept conflicting with concurrent writes")


def put_action(item: Mapping[str, Any], expression: Expression | None = None) -> dict[str, Any]:
    guard_item_size(item)
    return {"Put": {"Item": dict(item), **(expression.parts() if expression else {})}}


def update_action(pk: str, sk: str, expression: Expression) -> dict[str, Any]:
    return {"Update": {"Key": {"pk": pk, "sk": sk}, **expression.parts()}}


def delete_action(pk: str, sk: str, expression: Expression) -> dict[str, Any]:
    return {"Delete": {"Key": {"pk": pk, "sk": sk}, **expression.parts()}}


def check_action(pk: str, sk: str, expression: Expression) -> dict[str, Any]:
    return {"ConditionCheck": {"Key": {"pk": pk, "sk": sk}, **expression.parts()}}


def failed(codes: Sequence[str], index: int) -> bool:
    """Whether action ``index`` of a cancelled transaction failed its condition."""
    return index < len(codes) and codes[index] == "ConditionalCheckFailed"
