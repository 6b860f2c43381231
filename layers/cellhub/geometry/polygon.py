"""The Polygon type: one object instance as an exterior ring plus holes.

Rings are ``(N, 2)`` float64 arrays of ``(x, y)`` vertices in original-image pixel coordinates
(see ``cellhub`` for the convention), implicitly closed (the first vertex is not repeated).
The exterior has positive signed shoelace area in image coordinates (clockwise as seen on a
screen, where y points down); holes have negative signed area. An island inside a hole is a
separate Polygon, never a ring of this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Ring = NDArray[np.float64]
Source = Literal["model", "manual"]


def signed_area(ring: Ring) -> float:
    """Shoelace signed area of a closed ring; positive for the exterior orientation."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


@dataclass(frozen=True, slots=True)
class Polygon:
    """One instance: exterior ring, hole rings and the instance's attributes."""

    exterior: Ring
    holes: tuple[Ring, ...] = ()
    id: int = 0
    class_name: str = "object"
    score: float | None = None
    source: Source = "model"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def vertex_count(self) -> int:
        return int(len(self.exterior) + sum(len(h) for h in self.holes))

    def to_document(self) -> dict[str, Any]:
        """The ``cellhub.segmentation/1`` polygon entry (coordinates rounded to 1/1000 px)."""
        return {
            "id": self.id,
            "exterior": np.round(self.exterior, 3).tolist(),
            "holes": [np.round(h, 3).tolist() for h in self.holes],
            "class": self.class_name,
            "score": self.score,
            "source": self.source,
        }

    @classmethod
    def from_document(cls, entry: dict[str, Any]) -> Polygon:
        """Inverse of :meth:`to_document`; normalises ring orientation."""
        exterior = _oriented(np.asarray(entry["exterior"], dtype=np.float64), positive=True)
        holes = tuple(
            _oriented(np.asarray(h, dtype=np.float64), positive=False)
            for h in entry.get("holes", [])
        )
        return cls(
            exterior=exterior,
            holes=holes,
            id=int(entry.get("id", 0)),
            class_name=str(entry.get("class", "object")),
            score=entry.get("score"),
            source=entry.get("source", "model"),
        )


def _oriented(ring: Ring, *, positive: bool) -> Ring:
    if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3:
        raise ValueError(f"a ring needs at least 3 (x, y) vertices, got shape {ring.shape}")
    if (signed_area(ring) > 0) != positive:
        return ring[::-1].copy()
    return ring
