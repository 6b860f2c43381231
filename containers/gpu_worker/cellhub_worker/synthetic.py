"""Synthetic microscopy images with exact ground-truth labels, for tests, samples and benches.

Both generators return ``(image, labels)``: ``image`` is ``(Y, X)`` uint8 or uint16 grey,
``labels`` is int32 ``(Y, X)`` with 0 = background (holes included) and 1..N = one id per
object. Output depends only on the arguments, so a seed names one image for good.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

GreyImage = NDArray[np.uint8] | NDArray[np.uint16]

# Fraction of nuclei placed against an earlier one when ``touching`` is on.
_TOUCHING_SHARE = 0.3
# Touching pairs sit at this fraction of their summed centre-to-outline distances along the
# line joining them: a slight overlap, as in real clumps, but a neck clearly narrower than
# either nucleus, which is what lets anyone (or any method) tell them apart by shape.
_TOUCH_DISTANCE = 0.95


def synthetic_nuclei(
    shape: tuple[int, int] = (512, 512),
    count: int = 40,
    *,
    seed: int,
    touching: bool = True,
    bit_depth: Literal[8, 16] = 8,
    noise: float = 0.04,
) -> tuple[GreyImage, NDArray[np.int32]]:
    """Fluorescent nuclei: blurred, textured bright ellipses on a dark background.

    Semi-major axes are 9-15 px, aspect ratios 1-1.7, whatever ``shape`` is, as for a fixed
    magnification. Up to ``count`` nuclei are placed without overlap (fewer when the field is
    full; ``labels`` always tells the truth); with ``touching`` about a third of them lean
    on an earlier one.
    ``noise`` is the std of additive Gaussian noise relative to full brightness.
    8-bit images span most of 0..255; 16-bit ones are dim (a few thousand grey levels of
    65,535), as real 16-bit fluorescence is.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=np.int32)
    placed: list[tuple[float, float, float, float, float]] = []
    for _ in range(count):
        a = rng.uniform(9.0, 15.0)
        ellipse = (a, a * rng.uniform(0.6, 1.0), rng.uniform(0.0, np.pi))
        lean = touching and bool(placed) and rng.random() < _TOUCHING_SHARE
        for _attempt in range(30):
            centre = _touching_centre(rng, placed, ellipse) if lean else _free_centre(rng, shape)
            if _try_paint(labels, len(placed) + 1, centre, ellipse, lean):
                placed.append((*centre, *ellipse))
                break

    brightness = np.concatenate([[0.0], rng.uniform(0.55, 1.0, len(placed))])
    texture = 1.0 + 0.15 * _smooth_noise(rng, shape, 1.5)
    image = brightness[labels] * texture
    # Real touching nuclei show a dimmer contact line; it is what a human splits them by.
    image[_contact_pixels(labels)] *= 0.7
    image += 0.08 + 0.04 * _gradient(rng, shape)
    blurred = np.asarray(cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0), np.float32)
    blurred += rng.normal(0.0, noise, shape).astype(np.float32)
    if bit_depth == 16:
        return _scaled(blurred, offset=300.0, scale=3500.0, top=65535).astype(np.uint16), labels
    return _scaled(blurred, offset=12.0, scale=230.0, top=255).astype(np.uint8), labels


def synthetic_spheroids(
    shape: tuple[int, int] = (512, 512), count: int = 3, *, seed: int
) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """Brightfield spheroids: dark textured discs with a lighter rim on a bright background.

    Radii are 7-12 % of the shorter side, outlines gently irregular, the background lit
    unevenly (a tilt and darker corners). The rim (outer 15 % of the radius) is lighter than
    the core but still darker than halfway to the background, as a spheroid's looser
    periphery is. The first spheroid and about half of the others have a bright lumen, which
    is a hole (0) in ``labels``. Returns uint8 ``(Y, X)``.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=np.int32)
    image = 0.82 + 0.06 * _gradient(rng, shape) - 0.08 * _vignette(shape)
    side = min(shape)
    yy, xx = np.indices(shape, dtype=np.float32)
    placed: list[tuple[float, float, float]] = []
    for index in range(count):
        radius = rng.uniform(0.07, 0.12) * side
        for _attempt in range(50):
            cy, cx = (rng.uniform(radius + 0.05 * side, n - radius - 0.05 * side) for n in shape)
            if all(np.hypot(cy - y, cx - x) > radius + r + 0.05 * side for y, x, r in placed):
                break
        else:
            continue
        placed.append((cy, cx, radius))
        angle = np.arctan2(yy - cy, xx - cx)
        wobble = (
            1.0
            + 0.06 * np.sin(3 * angle + rng.uniform(0, 6.3))
            + 0.04 * np.sin(5 * angle + rng.uniform(0, 6.3))
        )
        relative = np.hypot(yy - cy, xx - cx) / (radius * wobble)
        body = relative <= 1.0
        image[body] = 0.25
        image[body & (relative > 0.85)] = 0.42
        labels[body] = len(placed)
        if index == 0 or rng.random() < 0.5:
            lumen = np.hypot(yy - cy - 0.1 * radius, xx - cx) <= 0.3 * radius
            image[lumen] = 0.75
            labels[lumen] = 0
    grain = 0.08 * _smooth_noise(rng, shape, 2.0)
    image = np.where(labels > 0, image + grain, image)
    blurred = np.asarray(cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.5), np.float32)
    blurred += rng.normal(0.0, 0.03, shape).astype(np.float32)
    return _scaled(blurred, offset=0.0, scale=255.0, top=255).astype(np.uint8), labels


def _free_centre(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[float, float]:
    return rng.uniform(16.0, shape[0] - 16.0), rng.uniform(16.0, shape[1] - 16.0)


def _touching_centre(
    rng: np.random.Generator,
    placed: list[tuple[float, float, float, float, float]],
    ellipse: tuple[float, float, float],
) -> tuple[float, float]:
    """A centre from which ``ellipse`` just overlaps a randomly chosen placed nucleus."""
    cy, cx, a, b, theta = placed[int(rng.integers(len(placed)))]
    direction = rng.uniform(0.0, 2 * np.pi)
    reach = _radius_towards(a, b, theta, direction) + _radius_towards(*ellipse, direction + np.pi)
    distance = _TOUCH_DISTANCE * reach
    return cy + distance * np.sin(direction), cx + distance * np.cos(direction)


def _radius_towards(a: float, b: float, theta: float, direction: float) -> float:
    """Distance from an ellipse's centre to its outline along ``direction`` (radians)."""
    phi = direction - theta
    return float(a * b / np.hypot(b * np.cos(phi), a * np.sin(phi)))


def _try_paint(
    labels: NDArray[np.int32],
    label: int,
    centre: tuple[float, float],
    ellipse: tuple[float, float, float],
    lean: bool,
) -> bool:
    """Paint ``ellipse`` as ``label`` where free; refuse if it leaves the field or collides.

    A leaning nucleus may overlap exactly one earlier nucleus (its partner keeps the shared
    pixels); any other nucleus must stay clear by a pixel.
    """
    a, b, theta = ellipse
    cy, cx = centre
    reach = int(np.ceil(a)) + 2
    y0, x0, y1, x1 = int(cy) - reach, int(cx) - reach, int(cy) + reach + 1, int(cx) + reach + 1
    if y0 < 0 or x0 < 0 or y1 > labels.shape[0] or x1 > labels.shape[1]:
        return False
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    halo = (u / (a + 1.5)) ** 2 + (v / (b + 1.5)) ** 2 <= 1.0
    window = labels[y0:y1, x0:x1]
    neighbours = np.unique(window[halo & (window > 0)])
    if neighbours.size > (1 if lean else 0):
        return False
    window[inside & (window == 0)] = label
    return True


def _contact_pixels(labels: NDArray[np.int32]) -> NDArray[np.bool_]:
    """Pixels of an object that 4-touch a different object."""
    contact = np.zeros(labels.shape, dtype=bool)
    for axis in (0, 1):
        a = labels.take(range(labels.shape[axis] - 1), axis=axis)
        b = labels.take(range(1, labels.shape[axis]), axis=axis)
        edge = (a != b) & (a > 0) & (b > 0)
        lower = [slice(None), slice(None)]
        upper = [slice(None), slice(None)]
        lower[axis], upper[axis] = slice(None, -1), slice(1, None)
        contact[tuple(lower)] |= edge
        contact[tuple(upper)] |= edge
    return contact


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma: float
) -> NDArray[np.float32]:
    """Zero-mean, unit-std noise correlated over ``sigma`` px, for texture."""
    field = np.asarray(
        cv2.GaussianBlur(rng.normal(0.0, 1.0, shape).astype(np.float32), (0, 0), sigma),
        dtype=np.float32,
    )
    return field / np.float32(max(float(field.std()), 1e-6))


def _gradient(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float32]:
    """A random linear tilt from -1 to 1 across the field (uneven illumination)."""
    angle = rng.uniform(0.0, 2 * np.pi)
    yy, xx = np.indices(shape, dtype=np.float32)
    ramp = np.cos(angle) * xx / shape[1] + np.sin(angle) * yy / shape[0]
    span = max(float(np.ptp(ramp)), 1e-6)
    return ((ramp - ramp.min()) / span * 2.0 - 1.0).astype(np.float32)


def _vignette(shape: tuple[int, int]) -> NDArray[np.float32]:
    """0 at the centre rising to 1 in the corners, as a microscope's fall-off of light."""
    yy, xx = np.indices(shape, dtype=np.float32)
    ry = (yy - (shape[0] - 1) / 2) / (shape[0] / 2)
    rx = (xx - (shape[1] - 1) / 2) / (shape[1] / 2)
    return ((ry**2 + rx**2) / 2.0).astype(np.float32)


def _scaled(
    image: NDArray[np.float32], *, offset: float, scale: float, top: int
) -> NDArray[np.float32]:
    """``offset + scale * image`` rounded and clipped to ``[0, top]``, ready for a cast."""
    return np.clip(np.round(offset + scale * image), 0.0, float(top)).astype(np.float32)
