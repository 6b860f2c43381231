"""Live events round-trip through their wire form and are told apart by ``type``."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from cellhub.domain.events import ExportProgress, ImageSegmented, LiveEvent, event_json
from cellhub.ports.notifier import RecordingNotifier

EVENTS: TypeAdapter[LiveEvent] = TypeAdapter(LiveEvent)


def test_wire_form_carries_schema_and_type_and_round_trips() -> None:
    event = ImageSegmented(project_id="p1", image_id="i1", version=2, object_count=7, seconds=0.4)
    wire = json.loads(event_json(event))
    assert wire["schema"] == "cellhub.event/1" and wire["type"] == "image.segmented"
    assert EVENTS.validate_json(event_json(event)) == event


def test_unknown_type_and_extra_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        EVENTS.validate_python({"type": "image.exploded", "project_id": "p"})
    with pytest.raises(ValidationError):
        ExportProgress(project_id="p", export_id="e", progress=0.5, secret="x")  # type: ignore[call-arg]


def test_recording_notifier_keeps_order() -> None:
    notifier = RecordingNotifier()
    for progress in (0.1, 0.5, 1.0):
        notifier.publish(ExportProgress(project_id="p", export_id="e", progress=progress))
    assert [e.progress for e in notifier.events if isinstance(e, ExportProgress)] == [0.1, 0.5, 1.0]
