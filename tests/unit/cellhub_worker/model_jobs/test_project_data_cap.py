"""The cap on a fine-tuning job's images: chosen by id and seed, the rest never decoded."""

from __future__ import annotations

import pytest

from cellhub.domain.images import Image
from cellhub.errors import InvalidParameter
from cellhub_worker.model_jobs.finetune_options import FinetuneOptions
from cellhub_worker.model_jobs.project_data import (
    images_to_use,
    read_project_data,
    segmented_images,
)
from tests.unit.cellhub_worker.model_jobs.project_world import ProjectWorld, tiny_checkpoint


def test_only_the_capped_images_are_decoded(world: ProjectWorld) -> None:
    world.add_nuclei(6, side=48)
    candidates = list(segmented_images(world.images, world.project.id))
    chosen = {image.id for image in images_to_use(candidates, max_images=4, seed=3)}
    # The images the cap leaves out are unreadable: decoding one would list it as skipped.
    for image in candidates:
        if image.id not in chosen:
            world.blobs.put(image.blob_key, b"not an image")

    data = read_project_data(world.images, world.blobs, world.project.id, max_images=4, seed=3)

    assert {s.image_id for s in data.samples} == chosen and len(chosen) == 4
    assert data.skipped == ()
    assert (data.segmented_images, data.left_out_by_cap) == (6, 2)


def test_a_project_under_the_cap_is_used_whole(world: ProjectWorld) -> None:
    world.add_nuclei(3, side=48)
    data = read_project_data(world.images, world.blobs, world.project.id, max_images=4)
    assert len(data.samples) == 3
    assert (data.segmented_images, data.left_out_by_cap) == (3, 0)


def test_the_choice_depends_on_ids_and_seed_not_listing_order(world: ProjectWorld) -> None:
    world.add_nuclei(6, side=32)
    candidates = list(segmented_images(world.images, world.project.id))

    def chosen(order: list[Image], seed: int) -> set[str]:
        return {image.id for image in images_to_use(order, max_images=4, seed=seed)}

    assert chosen(candidates, 0) == chosen(list(reversed(candidates)), 0)
    assert any(chosen(candidates, seed) != chosen(candidates, 0) for seed in range(1, 20))


def test_max_images_is_a_whole_number_of_at_least_two() -> None:
    assert FinetuneOptions.from_options({"name": "tuned"}).max_images == 400
    assert FinetuneOptions.from_options({"name": "tuned", "max_images": 2}).max_images == 2
    for bad in (1, 100_001, 2.5, "many"):
        with pytest.raises(InvalidParameter, match="max_images"):
            FinetuneOptions.from_options({"name": "tuned", "max_images": bad})


def test_the_report_counts_what_the_cap_left_out(world: ProjectWorld) -> None:
    world.add_nuclei(6, side=96)
    net, meta = tiny_checkpoint()
    world.register_checkpoint("weak", net, meta)
    options = {
        "epochs": 1,
        "steps_per_epoch": 2,
        "batch_size": 2,
        "crop": 64,
        "learning_rate": 1e-12,
        "holdout_fraction": 0.5,
        "min_objects": 1,
        "max_images": 4,
    }
    job = world.job("finetune", "weak", name="capped", **options)
    report = world.runner().finetune(job, progress=lambda _: None, heartbeat=lambda: None).report
    assert report["images"] == {"training": 2, "held_out": 2}
    assert (report["segmented_images"], report["left_out_by_cap"]) == (6, 2)
