"""Bringing your own model: every usable format accepted, every broken file a rejection."""

from __future__ import annotations

import hashlib

import pytest

from cellhub.errors import InvalidParameter
from cellhub.ports.model_jobs import ModelJobOutcome
from cellhub_worker.model_jobs import TorchModelJobRunner
from tests.unit.cellhub_worker.model_jobs.foreign_models import (
    Blob,
    MeanOfChannels,
    NotANumber,
    Probabilities,
    Shrinking,
    onnx_bytes,
    torchscript_bytes,
)
from tests.unit.cellhub_worker.model_jobs.project_world import (
    ProjectWorld,
    tiny_checkpoint,
)


def run_import(world: ProjectWorld, data: bytes, model_format: str) -> ModelJobOutcome:
    units: list[str] = []
    job = world.job("import_model", "brought", format=model_format, upload_key=world.upload(data))
    runner: TorchModelJobRunner = world.runner()
    outcome = runner.validate_import(job, progress=units.append, heartbeat=lambda: None)
    assert units == ["checked"]
    return outcome


def test_a_torchscript_model_is_accepted_with_what_was_checked(world: ProjectWorld) -> None:
    data = torchscript_bytes(Blob())
    outcome = run_import(world, data, "torchscript")
    assert outcome.accepted, outcome.reason
    assert outcome.artifact is not None
    card = outcome.artifact.card
    assert (card.name, card.format, card.origin) == ("brought", "torchscript", "imported")
    assert card.sha256 == hashlib.sha256(data).hexdigest() and outcome.artifact.weights == data
    checks = card.validation
    assert checks["output"] == "logits" and checks["in_channels"] == 1
    assert checks["output_shape"] == [1, 2, 512, 512]
    assert checks["ms_per_512"] < 5000 and checks["sample_objects"] > 0
    assert outcome.report["sample_image"].startswith("synthetic")


def test_an_onnx_model_is_accepted(world: ProjectWorld) -> None:
    outcome = run_import(world, onnx_bytes(Blob(1)), "onnx")
    assert outcome.accepted, outcome.reason
    assert outcome.artifact is not None
    assert outcome.artifact.card.validation["output_shape"] == [1, 1, 512, 512]


def test_an_onnx_model_with_a_fixed_input_size_runs_in_tiles_of_that_size(
    world: ProjectWorld,
) -> None:
    outcome = run_import(world, onnx_bytes(Blob(), dynamic=False, side=128), "onnx")
    assert outcome.accepted, outcome.reason
    assert outcome.artifact is not None
    checks = outcome.artifact.card.validation
    assert checks["tile"] == 128 and checks["multiple"] == 128


def test_probabilities_are_recognised_and_not_squashed_again(world: ProjectWorld) -> None:
    outcome = run_import(world, torchscript_bytes(Probabilities()), "torchscript")
    assert outcome.accepted and outcome.artifact is not None
    assert outcome.artifact.card.validation["output"] == "probabilities"


def test_our_checkpoint_is_accepted_with_its_own_facts(world: ProjectWorld) -> None:
    net, meta = tiny_checkpoint()
    world.register_checkpoint("source", net, meta)
    card = world.store.get(world.project.id, "source")
    assert card is not None
    outcome = run_import(world, world.store.read_weights(world.project.id, card), "checkpoint")
    assert outcome.accepted, outcome.reason
    assert outcome.artifact is not None
    imported = outcome.artifact.card
    assert imported.architecture == "unet" and imported.classes == ("nucleus",)
    assert imported.validation["in_channels"] == 1


def test_the_projects_own_image_is_the_sample(world: ProjectWorld) -> None:
    world.add_nuclei(1, side=64)
    outcome = run_import(world, torchscript_bytes(Blob()), "torchscript")
    assert outcome.report["sample_image"] == "n0.png"


@pytest.mark.parametrize(
    ("data", "model_format", "reason"),
    [
        (b"\x00garbage" * 50, "torchscript", "not a loadable torchscript model"),
        (b"\x00garbage" * 50, "onnx", "not a loadable onnx model"),
        (b"\x00garbage" * 50, "checkpoint", "corrupt or not a torch file"),
        (b"anything", "keras", "unknown model format 'keras'"),
    ],
)
def test_files_that_do_not_load_are_rejected(
    world: ProjectWorld, data: bytes, model_format: str, reason: str
) -> None:
    outcome = run_import(world, data, model_format)
    assert not outcome.accepted and outcome.artifact is None
    assert reason in outcome.reason


def test_a_wrong_output_shape_is_rejected(world: ProjectWorld) -> None:
    outcome = run_import(world, torchscript_bytes(Shrinking()), "torchscript")
    assert not outcome.accepted
    assert outcome.reason == "output shape (1, 3, 32, 32) does not match input 512×512"
    assert outcome.report["checks"]["output_shape"] == [1, 3, 32, 32]


def test_nan_output_is_rejected(world: ProjectWorld) -> None:
    outcome = run_import(world, onnx_bytes(NotANumber()), "onnx")
    assert not outcome.accepted and "NaN" in outcome.reason


def test_a_missing_upload_is_a_rejection(world: ProjectWorld) -> None:
    job = world.job(
        "import_model", "brought", format="onnx", upload_key=f"models/{world.project.id}/uploads/x"
    )
    outcome = world.runner().validate_import(job, progress=lambda _: None, heartbeat=lambda: None)
    assert not outcome.accepted and "gone" in outcome.reason


def test_an_upload_of_another_project_is_refused(world: ProjectWorld) -> None:
    job = world.job("import_model", "brought", format="onnx", upload_key="models/other/uploads/x")
    with pytest.raises(InvalidParameter, match="upload of this project"):
        world.runner().validate_import(job, progress=lambda _: None, heartbeat=lambda: None)


def test_a_three_channel_model_gets_the_grey_sample_repeated(world: ProjectWorld) -> None:
    outcome = run_import(world, onnx_bytes(MeanOfChannels(), channels=3), "onnx")
    assert outcome.accepted, outcome.reason
    assert outcome.artifact is not None
    assert outcome.artifact.card.validation["in_channels"] == 3
