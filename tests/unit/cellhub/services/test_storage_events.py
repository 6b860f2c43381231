"""Storage events in S3's notification shape: what the embedded hub raises is what the
thumbnail function reads, keys survive URL encoding, and anything else is ignored."""

from __future__ import annotations

import json

from cellhub.services.storage_events import (
    TEST_EVENT,
    CreatedObject,
    created_objects,
    object_created_notification,
)

ORIGINAL = "projects/p1/originals/i1"


def test_a_raised_notification_reads_back_as_the_created_original() -> None:
    body = object_created_notification(ORIGINAL, etag="abc", size=12)
    assert created_objects(body) == [CreatedObject(key=ORIGINAL, etag="abc")]
    record = json.loads(body)["Records"][0]
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["size"] == 12


def test_keys_are_url_encoded_as_s3_sends_them_and_decoded_on_reading() -> None:
    key = "projects/p 1/originals/i+1"
    body = object_created_notification(key, etag="e", size=1)
    assert json.loads(body)["Records"][0]["s3"]["object"]["key"] == "projects/p+1/originals/i%2B1"
    assert created_objects(body) == [CreatedObject(key=key, etag="e")]


def test_other_objects_and_events_are_ignored() -> None:
    thumbnail = object_created_notification("projects/p1/thumbnails/i1", etag="e", size=1)
    removed = json.dumps(
        {"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": ORIGINAL}}}]}
    )
    test_event = json.dumps({"Service": "Amazon S3", "Event": TEST_EVENT})
    for body in (thumbnail, removed, test_event, "not json", "[]", '{"Records": [1]}'):
        assert created_objects(body) == []


def test_a_notification_without_an_etag_reads_with_none() -> None:
    body = json.dumps(
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": ORIGINAL}}}]}
    )
    assert created_objects(body) == [CreatedObject(key=ORIGINAL, etag=None)]
