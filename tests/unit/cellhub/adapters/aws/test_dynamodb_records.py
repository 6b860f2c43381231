"""Value encodings, cursors, the item-size guard and expressions of the DynamoDB adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr

from cellhub.adapters.aws.dynamodb_exports import INLINE_IDS_BYTES, export_from_item, export_items
from cellhub.adapters.aws.dynamodb_expressions import Expression, only_if_new
from cellhub.adapters.aws.dynamodb_records import (
    MAX_ITEM_BYTES,
    decode_cursor,
    encode_cursor,
    guard_item_size,
    item_size,
    time_from_text,
    time_to_text,
    to_decimal,
    to_float,
    ttl_seconds,
)
from cellhub.adapters.aws.dynamodb_table import HUB_TABLE_INDEXES, hub_table_definition
from cellhub.domain.jobs import Export
from cellhub.errors import InvalidParameter


def test_times_are_fixed_width_text_in_time_order() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = early + timedelta(microseconds=1)
    assert time_to_text(early) < time_to_text(late)
    assert len(time_to_text(early)) == len(time_to_text(late))
    assert time_from_text(time_to_text(late)) == late
    with pytest.raises(InvalidParameter):
        time_to_text(datetime(2026, 1, 1))  # naive


def test_ttl_is_whole_epoch_seconds_never_early() -> None:
    moment = datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert ttl_seconds(moment) == int(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp())
    assert ttl_seconds(moment.replace(microsecond=0)) == int(moment.timestamp())


def test_floats_go_in_as_their_shortest_decimal_and_come_back_equal() -> None:
    for value in (0.325, 0.1, 1e-7, 0.65, 1.0):
        stored = to_decimal(value)
        assert stored == Decimal(repr(value))
        assert to_float(stored) == value
    assert to_decimal(None) is None and to_float(None) is None


def test_cursor_is_opaque_url_safe_and_bound_to_its_listing() -> None:
    cursor = encode_cursor("images:name", "img_00001.tif\x01abc")
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor(cursor, "images:name") == "img_00001.tif\x01abc"
    with pytest.raises(InvalidParameter):
        decode_cursor(cursor, "images:created")
    for bad in ("not-a-cursor", "", "e30", "W10"):
        with pytest.raises(InvalidParameter):
            decode_cursor(bad, "images:name")


def test_item_size_guard_refuses_what_dynamodb_would() -> None:
    small = {"pk": "IMAGE#1", "sk": "IMAGE", "name": "x" * 1000, "size": 5}
    guard_item_size(small)
    assert 1000 < item_size(small) < 1100
    huge = {"pk": "IMAGE#1", "sk": "IMAGE", "reason": "é" * (MAX_ITEM_BYTES // 2 + 1)}
    with pytest.raises(InvalidParameter) as raised:
        guard_item_size(huge)
    assert raised.value.as_dict()["pk"] == "IMAGE#1"
    assert item_size({"ids": ["a" * 10] * 100}) > 1000  # lists count every element


def test_long_export_selections_go_to_chunk_items_below_the_limit() -> None:
    ids = tuple(f"{i:032x}" for i in range(10_000))
    export = Export.new("p1", ("coco",), created_by="alice", image_ids=ids)
    head, *chunks = export_items(export)
    assert "image_ids" not in head and head["image_id_chunks"] == len(chunks) >= 4
    assert all(item_size(chunk) <= INLINE_IDS_BYTES for chunk in chunks)
    assert [chunk["sk"] for chunk in chunks] == sorted(chunk["sk"] for chunk in chunks)
    assert export_from_item(head, chunks) == export

    short = Export.new("p1", ("coco",), created_by="alice", image_ids=("a", "b"))
    [item] = export_items(short)
    assert item["image_ids"] == ["a", "b"] and export_from_item(item, []) == short
    everything = Export.new("p1", ("coco",), created_by="alice")
    [item] = export_items(everything)
    assert export_from_item(item, []).image_ids is None


def test_expressions_name_every_attribute_through_a_placeholder() -> None:
    change = Expression()
    change.set("status", "ready")
    change.set("reason", None)
    change.add("done", 1)
    change.copy("gsi3pk", "active_pk")
    change.exists()
    change.where(Attr("status").is_in(["a", "b"]))
    parts = change.parts()
    assert parts["UpdateExpression"] == "SET #a0 = :a0, #a3 = #a4 REMOVE #a1 ADD #a2 :a1"
    assert parts["ConditionExpression"] == "(attribute_exists(#n0)) AND (#n1 IN (:v0, :v1))"
    names = parts["ExpressionAttributeNames"]
    assert (names["#a0"], names["#n0"], names["#n1"]) == ("status", "pk", "status")
    assert parts["ExpressionAttributeValues"] == {
        ":a0": "ready",
        ":a1": 1,
        ":v0": "a",
        ":v1": "b",
    }
    assert only_if_new().parts() == {
        "ConditionExpression": "(attribute_not_exists(#n0))",
        "ExpressionAttributeNames": {"#n0": "pk"},
    }


def test_table_definition_lists_string_keys_and_four_full_indexes() -> None:
    definition = hub_table_definition("hub")
    assert definition["TableName"] == "hub"
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in definition["KeySchema"]] == ["pk", "sk"]
    names = [a["AttributeName"] for a in definition["AttributeDefinitions"]]
    assert len(names) == len(set(names)) == 10
    assert {a["AttributeType"] for a in definition["AttributeDefinitions"]} == {"S"}
    indexes = definition["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == [name for name, _, _ in HUB_TABLE_INDEXES]
    assert all(i["Projection"] == {"ProjectionType": "ALL"} for i in indexes)
