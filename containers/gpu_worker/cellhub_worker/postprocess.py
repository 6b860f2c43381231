"""Turning a per-pixel foreground probability map into labelled object instances.

Input: ``foreground`` float32 ``(Y, X)`` in ``[0, 1]`` (the model's probability that a pixel
belongs to any object) and optionally ``boundary`` float32 ``(Y, X)`` in ``[0, 1]`` (the
probability that a pixel lies on an object's outline, for nets that predict one).
Output: :class:`cellhub.segmenter.Instances` whose ``labels`` are int32 ``(Y, X)`` with
0 = background and 1..N = one id per instance (consecutive, no gaps; the same input always
gets the same numbering), and whose ``scores`` map every id to the mean foreground
probability over that instance.

Objects are 8-connected; holes (background fully enclosed by an object) are 4-connected,
which is the pairing under which every hole has a closed outline.
"""

from __future__ import annotations

from typing import Any, get_args

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage.segmentation import watershed

from cellhub.errors import InvalidParameter
from cellhub.segmenter import Instances
from cellhub.settings import get_settings
from cellhub_worker.instance_filters import (
    AreaReference,
    components_at_least,
    drop_small_relative,
    mean_per_label,
    relabel_consecutive,
)

# A distance-map peak is a separate object only if it rises this far above the saddle joining
# it to a higher peak, both in pixels and as a fraction of its own height. The absolute floor
# absorbs the sub-pixel ripple that pixelated outlines put on the distance map; the relative
# part makes the rule scale-free, so a 200 px spheroid with a bumpy edge stays one object
# while two nuclei meeting at a neck narrower than 85 % of the smaller one's width split.
_MIN_DYNAMIC_PX = 1.0
_MIN_RELATIVE_DYNAMIC = 0.15

_EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=np.uint8)


def instances_from_probabilities(
    foreground: NDArray[np.floating[Any]],
    boundary: NDArray[np.floating[Any]] | None = None,
    *,
    threshold: float = 0.5,
    min_area: int | None = None,
    fill_holes_below: int = 0,
    split_touching: bool = True,
    seed_threshold: float | None = None,
    min_relative_area: float = 0.0,
    spare_border: bool = True,
    relative_to: AreaReference = "median",
) -> Instances:
    """Threshold, separate touching objects, filter and number the instances.

    ``foreground``, ``boundary``: float ``(Y, X)`` probability maps of the same shape.
    ``threshold``: a pixel is foreground where ``foreground > threshold``; must lie in (0, 1).
    ``min_area``: instances with fewer pixels are dropped (``None``: the settings default).
    ``fill_holes_below``: enclosed background regions smaller than this many pixels become
    foreground; larger ones stay holes (0 keeps every hole).
    ``split_touching``: when ``boundary`` is given, seeds are the pixels where
    ``foreground - boundary > seed_threshold`` (default: ``threshold``) and a watershed on
    ``boundary`` grows them over the foreground; without it, touching objects are split at
    the necks of the distance map, one seed per significant peak (see
    :func:`split_by_distance`). When false, each connected
    component is one instance.
    ``min_relative_area``: instances smaller than this fraction of the image's median
    (``relative_to="largest"``: largest) instance area are dropped (0 keeps all), sparing
    those touching the image edge when ``spare_border`` (see
    :func:`cellhub_worker.instance_filters.drop_small_relative`).
    Returns labels int32 ``(Y, X)``, 0 = background, 1..N consecutive, and a score per id.
    """
    if foreground.ndim != 2:
        raise InvalidParameter(f"foreground must be (Y, X), got shape {foreground.shape}")
    if boundary is not None and boundary.shape != foreground.shape:
        raise InvalidParameter(
            f"boundary shape {boundary.shape} differs from foreground {foreground.shape}"
        )
    seed_cut = threshold if seed_threshold is None else seed_threshold
    for name, value in (("threshold", threshold), ("seed_threshold", seed_cut)):
        if not 0.0 < value < 1.0:
            raise InvalidParameter(f"{name} must lie in (0, 1), got {value}")
    if not 0.0 <= min_relative_area < 1.0:
        raise InvalidParameter(f"min_relative_area must lie in [0, 1), got {min_relative_area}")
    if relative_to not in get_args(AreaReference):
        raise InvalidParameter(f"relative_to must be median or largest, got {relative_to!r}")
    if min_area is None:
        min_area = get_settings().min_object_area_px
    if min_area < 0 or fill_holes_below < 0:
        raise InvalidParameter("min_area and fill_holes_below must be >= 0")

    probability = np.asarray(foreground, dtype=np.float32)
    mask = probability > threshold
    if fill_holes_below > 0:
        mask = fill_small_holes(mask, fill_holes_below)
    components = components_at_least(mask, min_area)

    if not split_touching:
        labels = components
    elif boundary is not None:
        labels = _split_by_boundary(
            probability, np.asarray(boundary, np.float32), components, seed_cut, min_area
        )
    else:
        labels = split_by_distance(components > 0)
    labels = relabel_consecutive(labels, min_area)
    labels = drop_small_relative(
        labels, min_relative_area, spare_border=spare_border, reference=relative_to
    )
    return Instances(labels=labels, scores=mean_per_label(probability, labels))


def fill_small_holes(mask: NDArray[np.bool_], below: int) -> NDArray[np.bool_]:
    """Return ``mask`` (bool ``(Y, X)``) with enclosed background regions < ``below`` px set.

    A region counts as enclosed when it does not touch the image border.
    """
    _, background, stats, _ = cv2.connectedComponentsWithStats(
        (~mask).view(np.uint8), connectivity=4
    )
    x, y, w, h, area = (stats[:, i] for i in range(5))
    height, width = mask.shape
    touches_border = (x == 0) | (y == 0) | (x + w == width) | (y + h == height)
    fill = (area < below) & ~touches_border
    fill[0] = False  # label 0 of the background image is the foreground itself
    if not fill.any():
        return mask
    return mask | fill[background]


def split_by_distance(mask: NDArray[np.bool_]) -> NDArray[np.int32]:
    """Label bool ``(Y, X)`` ``mask`` with touching round objects separated.

    Every local maximum of the Euclidean distance map seeds a basin of a watershed on the
    inverted distance; basins are then merged bottom-up (by the elder rule of persistence)
    unless their peak rises a significant height above the saddle that joins them to a
    higher peak. This is the h-maxima marker rule with an h that grows with object size, so
    a round or elongated nucleus yields one instance however noisy its outline.
    Returns int32 ``(Y, X)``: 0 background, positive ids not necessarily consecutive.
    """
    # Holes are measured out of the distance map: each pinhole of a noisy threshold would
    # otherwise carve a pit into it and split one nucleus into several.
    solid = fill_small_holes(mask, mask.size + 1)
    distance = np.asarray(
        cv2.distanceTransform(solid.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE),
        dtype=np.float32,
    )
    peaks = (distance >= cv2.dilate(distance, _EIGHT_NEIGHBOURS)) & solid
    count, peak_ids = cv2.connectedComponents(peaks.view(np.uint8), connectivity=8)
    markers = np.asarray(peak_ids, dtype=np.int32)
    if count <= 2:
        _, single = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
        return np.asarray(single, dtype=np.int32)
    basins: NDArray[np.int32] = watershed(-distance, markers, mask=solid, connectivity=2)

    peak_height = np.zeros(count, dtype=np.float32)
    np.maximum.at(peak_height, markers[peaks], distance[peaks])
    first, second, saddle = _saddles(basins, distance)
    root = _merge_insignificant(peak_height, first, second, saddle)
    return np.where(mask, root[basins], 0).astype(np.int32)


def _split_by_boundary(
    probability: NDArray[np.float32],
    boundary: NDArray[np.float32],
    components: NDArray[np.int32],
    seed_threshold: float,
    min_area: int,
) -> NDArray[np.int32]:
    """Grow seeds (foreground minus boundary) over the foreground by a boundary watershed.

    Seeds smaller than a quarter of ``min_area`` are boundary-prediction noise and dropped;
    a component left without any seed becomes one instance of its own.
    """
    mask = components > 0
    seed_mask = ((probability - boundary) > seed_threshold) & mask
    seeds = components_at_least(seed_mask, max(1, min_area // 4))
    grown: NDArray[np.int32] = watershed(boundary, seeds, mask=mask, connectivity=2)
    orphaned = mask & (grown == 0)
    if orphaned.any():
        offset = int(grown.max(initial=0))
        grown = np.where(orphaned, components + offset, grown).astype(np.int32)
    return grown


def _saddles(
    basins: NDArray[np.int32], height: NDArray[np.float32]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """Every pair of 8-adjacent basins and the highest pass between them.

    The pass across one pixel pair is the lower of the two heights; the saddle of a basin
    pair is the highest such pass. Returns (first id, second id, saddle height), first < second.
    """
    firsts, seconds, passes = [], [], []
    for a, b in _neighbour_views(basins, height):
        la, ha = a
        lb, hb = b
        cross = (la != lb) & (la > 0) & (lb > 0)
        firsts.append(np.minimum(la[cross], lb[cross]))
        seconds.append(np.maximum(la[cross], lb[cross]))
        passes.append(np.minimum(ha[cross], hb[cross]))
    first = np.concatenate(firsts).astype(np.intp)
    second = np.concatenate(seconds).astype(np.intp)
    pass_height = np.concatenate(passes)
    if first.size == 0:
        return first, second, pass_height
    # Sort by pair, then by height, and keep the last (highest) pass of each pair.
    order = np.lexsort((pass_height, second, first))
    first, second, pass_height = first[order], second[order], pass_height[order]
    last = np.ones(first.size, dtype=bool)
    last[:-1] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
    return first[last], second[last], pass_height[last]


def _neighbour_views(
    labels: NDArray[np.int32], height: NDArray[np.float32]
) -> list[tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]]]:
    """Aligned views of each pixel and its right, lower, lower-right, lower-left neighbour."""
    shifts = [
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
        ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))),
        ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))),
    ]
    return [((labels[p], height[p]), (labels[q], height[q])) for p, q in shifts]


def _merge_insignificant(
    peak: NDArray[np.float32],
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    saddle: NDArray[np.float32],
) -> NDArray[np.int32]:
    """Union-find over basins, visiting saddles from the highest down.

    At each saddle the basin group with the lower peak joins the higher one unless its peak
    stands at least ``max(_MIN_DYNAMIC_PX, _MIN_RELATIVE_DYNAMIC * peak)`` above the saddle.
    Returns, for every basin id, the id of the group it ends in (0 stays 0).
    """
    parent = list(range(peak.size))
    top: list[float] = peak.astype(np.float64).tolist()

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k in np.argsort(-saddle, kind="stable").tolist():
        ra, rb = find(int(first[k])), find(int(second[k]))
        if ra == rb:
            continue
        low, high = (ra, rb) if top[ra] < top[rb] else (rb, ra)
        dynamic = top[low] - float(saddle[k])
        if dynamic < max(_MIN_DYNAMIC_PX, _MIN_RELATIVE_DYNAMIC * top[low]):
            parent[low] = high
    return np.array([find(i) for i in range(peak.size)], dtype=np.int32)
