"""Procedural brightfield spheroid and organoid images with exact instance masks.

No annotated spheroid set is available to train on, so this generator draws what a
brightfield well shows: several dark, textured spheroids with a lighter rim, a bright halo
around each (the phase halo of a thick object), thin invasive protrusions growing outward,
some with lumen holes (organoids), loose debris and single cells that are *not* objects,
all under uneven illumination, optical blur and camera noise.

``spheroid_field`` returns ``(image, labels)``: ``image`` uint8 ``(Y, X)`` grey, ``labels``
int32 ``(Y, X)`` with 0 = background (lumens and debris included) and 1..N one id per
spheroid, protrusions being part of their spheroid. Output depends only on the arguments.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

_BACKGROUND = 0.78


def spheroid_field(
    shape: tuple[int, int] = (512, 512),
    count: int | None = None,
    *,
    seed: int,
    lumen_share: float = 0.4,
) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """A brightfield field of ``count`` spheroids (``None``: 1-5, drawn from ``seed``).

    Radii are 5-18 % of the shorter side; spheroids never overlap, and their halos may touch.
    About ``lumen_share`` of them carry one or more bright lumens, which are holes in
    ``labels``.
    """
    rng = np.random.default_rng(seed)
    side = min(shape)
    n = int(rng.integers(1, 6)) if count is None else count
    yy, xx = np.indices(shape, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.int32)
    darkness = np.zeros(shape, dtype=np.float32)  # how much each pixel is darkened
    halo = np.zeros(shape, dtype=np.float32)
    placed: list[tuple[float, float, float]] = []
    for _ in range(n):
        radius = float(rng.uniform(0.05, 0.18)) * side
        centre = _free_spot(rng, shape, radius, placed)
        if centre is None:
            continue
        cy, cx = centre
        placed.append((cy, cx, radius))
        ident = len(placed)
        relative = _relative_radius(rng, yy - cy, xx - cx, radius)
        body = relative <= 1.0
        body |= _protrusions(rng, shape, cy, cx, radius) & (labels == 0)
        if rng.random() < lumen_share:
            body &= ~_lumens(rng, yy, xx, cy, cx, radius)
        body &= labels == 0
        labels[body] = ident
        core = float(rng.uniform(0.45, 0.7))
        # Dark core fading to a lighter rim over the outer ~20 % of the radius.
        profile = core * np.clip((1.15 - relative) / 0.35, 0.5, 1.0)
        darkness = np.where(body, np.maximum(darkness, profile), darkness)
        ring = np.exp(-(((relative - 1.08) / 0.06) ** 2)) * float(rng.uniform(0.08, 0.18))
        halo = np.maximum(halo, np.where(labels == 0, ring, 0.0).astype(np.float32))

    texture = _smooth_noise(rng, shape, 1.2) * 0.12 + _smooth_noise(rng, shape, 4.0) * 0.08
    image = _illumination(rng, shape) * (1.0 - darkness * (1.0 + texture)) + halo
    image -= _debris(rng, shape, labels)
    sigma = float(rng.uniform(0.8, 2.0))
    image = np.asarray(cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma), np.float32)
    image += rng.normal(0.0, float(rng.uniform(0.01, 0.04)), shape).astype(np.float32)
    return np.clip(image * 255.0, 0, 255).astype(np.uint8), labels


def _free_spot(
    rng: np.random.Generator,
    shape: tuple[int, int],
    radius: float,
    placed: list[tuple[float, float, float]],
) -> tuple[float, float] | None:
    margin = 0.6 * radius  # partly cut spheroids at the edge are realistic
    for _attempt in range(40):
        cy = float(rng.uniform(margin, shape[0] - margin))
        cx = float(rng.uniform(margin, shape[1] - margin))
        if all(np.hypot(cy - y, cx - x) > 1.35 * (radius + r) for y, x, r in placed):
            return cy, cx
    return None


def _relative_radius(
    rng: np.random.Generator, dy: NDArray[np.float32], dx: NDArray[np.float32], radius: float
) -> NDArray[np.float32]:
    """Distance from the centre in units of a wobbly, slightly elliptical outline."""
    angle = np.arctan2(dy, dx)
    stretch = float(rng.uniform(0.8, 1.0))
    turn = float(rng.uniform(0, np.pi))
    u = dx * np.cos(turn) + dy * np.sin(turn)
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / stretch
    wobble = np.ones_like(angle)
    for k in (2, 3, 5, 8):
        wobble += float(rng.uniform(0.0, 0.08 / k**0.5)) * np.sin(k * angle + rng.uniform(0, 6.3))
    return np.asarray(np.hypot(u, v) / (radius * wobble), np.float32)


def _protrusions(
    rng: np.random.Generator, shape: tuple[int, int], cy: float, cx: float, radius: float
) -> NDArray[np.bool_]:
    """Thin, slightly bent strands growing out of the spheroid (invasive sprouts)."""
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(int(rng.integers(0, 7))):
        angle = float(rng.uniform(0, 2 * np.pi))
        length = float(rng.uniform(0.3, 0.8)) * radius
        width = max(2, round(float(rng.uniform(0.02, 0.05)) * radius))
        points = []
        for t in np.linspace(0.85, 1.0 + length / radius, 6):
            angle += float(rng.normal(0.0, 0.08))
            points.append((cx + t * radius * np.cos(angle), cy + t * radius * np.sin(angle)))
        poly = np.round(np.array(points)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [poly], isClosed=False, color=1, thickness=width)
    return mask.astype(bool)


def _lumens(
    rng: np.random.Generator,
    yy: NDArray[np.float32],
    xx: NDArray[np.float32],
    cy: float,
    cx: float,
    radius: float,
) -> NDArray[np.bool_]:
    holes = np.zeros(yy.shape, dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        r = float(rng.uniform(0.12, 0.3)) * radius
        dist = float(rng.uniform(0.0, 0.55 * radius - r)) if 0.55 * radius > r else 0.0
        angle = float(rng.uniform(0, 2 * np.pi))
        ly, lx = cy + dist * np.sin(angle), cx + dist * np.cos(angle)
        holes |= np.hypot(yy - ly, xx - lx) <= r
    return holes


def _debris(
    rng: np.random.Generator, shape: tuple[int, int], labels: NDArray[np.int32]
) -> NDArray[np.float32]:
    """Small dark specks and single cells in the background: things that are not spheroids."""
    specks = np.zeros(shape, dtype=np.float32)
    side = min(shape)
    for _ in range(int(rng.integers(5, 40))):
        y, x = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        if labels[y, x]:
            continue
        size = max(1, round(float(rng.uniform(0.003, 0.015)) * side))
        axes = (size, max(1, round(size * float(rng.uniform(0.5, 1.0)))))
        shade = float(rng.uniform(0.1, 0.4))
        cv2.ellipse(specks, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, shade, -1)
    return np.where(labels > 0, 0.0, specks).astype(np.float32)


def _illumination(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float32]:
    """Background brightness: a tilt, a vignette and a soft hot spot."""
    yy, xx = np.indices(shape, dtype=np.float32)
    ny, nx = yy / shape[0] - 0.5, xx / shape[1] - 0.5
    tilt = float(rng.uniform(-0.12, 0.12)) * ny + float(rng.uniform(-0.12, 0.12)) * nx
    vignette = float(rng.uniform(0.0, 0.25)) * (ny**2 + nx**2)
    level = _BACKGROUND * float(rng.uniform(0.8, 1.1))
    return np.asarray(level + tilt - vignette, np.float32)


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma: float
) -> NDArray[np.float32]:
    noise = rng.normal(0.0, 1.0, shape).astype(np.float32)
    smooth = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigma), np.float32)
    return smooth / max(float(smooth.std()), 1e-6)
