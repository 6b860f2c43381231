"""Choosing post-processing on cached probabilities: the best pooled AP@0.5 wins."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub_worker.checkpoint import Postprocessing
from cellhub_worker.evaluation.metrics import count_matches
from cellhub_worker.evaluation.tuning import Predicted, grid, score, search
from cellhub_worker.postprocess import instances_from_probabilities


def _touching_pair() -> Predicted:
    """Two 20x20 squares sharing an edge, a faint 0.55 foreground and a boundary between them,
    and a 6x6 speck of confident foreground that is not an object."""
    truth = np.zeros((40, 64), np.int32)
    truth[10:30, 10:30] = 1
    truth[10:30, 30:50] = 2
    foreground = np.where(truth > 0, 0.55, 0.02).astype(np.float32)
    foreground[2:8, 54:60] = 0.9
    boundary = np.zeros_like(foreground)
    boundary[10:30, 29:31] = 0.3
    return Predicted("pair", foreground, boundary, truth)


def test_the_grid_keeps_the_base_settings_it_does_not_vary() -> None:
    base = Postprocessing(spare_border=False, relative_to="largest")
    settings = grid((0.4, 0.5), (0.3,), (0.0, 0.1), base=base)
    assert len(settings) == 4
    assert {(s.threshold, s.min_relative_area) for s in settings} == {
        (0.4, 0.0), (0.4, 0.1), (0.5, 0.0), (0.5, 0.1),
    }  # fmt: skip
    assert all(not s.spare_border and s.relative_to == "largest" for s in settings)


def test_search_puts_the_setting_that_finds_every_object_first() -> None:
    pair = _touching_pair()
    trials = search([pair], grid((0.5, 0.6), (0.2, 0.3), (0.0, 0.2)))
    best = trials[0]
    # A cut at 0.6 loses the faint pair; a seed cut at 0.2 lets the contact line (0.55 - 0.3)
    # seed too, so the pair grows from one seed; only the floor drops the speck.
    assert best.setting.threshold == 0.5
    assert best.setting.seed_threshold == 0.3
    assert best.setting.min_relative_area == 0.2
    assert best.scores["ap50"] == pytest.approx(1.0)
    assert trials[-1].scores["ap50"] == 0.0
    # Without the floor the speck is a false positive: 2 / (2 + 1).
    kept = Postprocessing(threshold=0.5, seed_threshold=0.3, min_relative_area=0.0)
    assert score([pair], kept)["ap50"] == pytest.approx(2 / 3)
    # Seeded through the contact line, the pair is not split into its two squares.
    merged = Postprocessing(threshold=0.5, seed_threshold=0.2, min_relative_area=0.2)
    assert score([pair], merged)["ap50"] <= 0.5


def test_ties_keep_grid_order_and_an_empty_set_is_refused() -> None:
    pair = _touching_pair()
    settings = grid((0.5,), (0.3,), (0.2, 0.3))
    assert [t.setting for t in search([pair], settings)] == settings
    with pytest.raises(ValueError, match="no annotated images"):
        search([], settings)


def test_a_shared_cut_scores_like_full_post_processing_of_each_setting() -> None:
    pair = _touching_pair()
    for trial in search([pair], grid((0.5,), (0.2, 0.3), (0.0, 0.1, 0.2))):
        s = trial.setting
        direct = instances_from_probabilities(
            pair.foreground, pair.boundary, threshold=0.5, seed_threshold=s.seed_threshold,
            min_relative_area=s.min_relative_area,
        )  # fmt: skip
        assert trial.scores == count_matches(pair.truth, direct.labels).scores()
