"""Loading a project's model of each format as a segmenter, after its checksum."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub.errors import InvalidParameter
from cellhub_worker.exported_models import ExportedNetSpec
from cellhub_worker.project_models import load_project_segmenter
from cellhub_worker.synthetic import synthetic_nuclei
from tests.unit.cellhub_worker.model_jobs.foreign_models import Blob, onnx_bytes, torchscript_bytes
from tests.unit.cellhub_worker.model_jobs.project_world import ProjectWorld, tiny_checkpoint


def nuclei(side: int = 200) -> np.ndarray:
    pixels, _ = synthetic_nuclei((side, side), count=12, seed=4)
    return pixels


@pytest.mark.parametrize("model_format", ["torchscript", "onnx"])
def test_exported_models_segment_images_of_any_size(world: ProjectWorld, model_format: str) -> None:
    data = torchscript_bytes(Blob()) if model_format == "torchscript" else onnx_bytes(Blob())
    spec = ExportedNetSpec(in_channels=1, output="logits", tile=128, multiple=32)
    card = world.register("brought", data, model_format, validation=spec.to_dict())
    segmenter = load_project_segmenter(world.store, world.project.id, card, device="cpu")
    assert (segmenter.name, segmenter.version) == ("brought", "1")
    # 200 px runs as a 2 x 2 grid of 128 px tiles; the blend must match a single pass.
    instances = segmenter.segment(nuclei())
    assert instances.labels.shape == (200, 200) and instances.labels.max() >= 5
    whole = ExportedNetSpec(in_channels=1, output="logits", tile=256, multiple=32)
    single = world.register("whole", data, model_format, validation=whole.to_dict())
    reference = load_project_segmenter(world.store, world.project.id, single, device="cpu")
    assert np.array_equal(reference.segment(nuclei()).labels > 0, instances.labels > 0)


def test_a_checkpoint_segments_under_the_cards_name(world: ProjectWorld) -> None:
    net, meta = tiny_checkpoint()
    world.register_checkpoint("mine", net, meta)
    card = world.store.get(world.project.id, "mine")
    assert card is not None
    segmenter = load_project_segmenter(world.store, world.project.id, card, device="cpu")
    assert segmenter.name == "mine"
    assert segmenter.segment(nuclei(64)).labels.shape == (64, 64)


def test_weights_that_differ_from_the_card_are_refused(world: ProjectWorld) -> None:
    card = world.register("brought", onnx_bytes(Blob()), "onnx")
    world.store.blobs.put(f"models/{world.project.id}/brought/weights.onnx", b"swapped")
    with pytest.raises(InvalidParameter, match="SHA-256"):
        load_project_segmenter(world.store, world.project.id, card)


def test_an_unloadable_file_is_an_invalid_parameter(world: ProjectWorld) -> None:
    card = world.register("broken", b"\x00" * 64, "onnx")
    with pytest.raises(InvalidParameter, match="cannot be loaded as onnx"):
        load_project_segmenter(world.store, world.project.id, card)
