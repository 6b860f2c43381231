// Plane geometry for the editor. Points are [x, y] in original-image pixels, y down.

export function ringArea(ring) {
  let twice = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    twice += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  }
  return Math.abs(twice) / 2;
}

export function insideRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Inside the exterior and outside every hole.
export function insidePolygon(point, polygon) {
  return insideRing(point, polygon.exterior) && !polygon.holes.some((hole) => insideRing(point, hole));
}

export function distanceToSegment([px, py], [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSq = dx * dx + dy * dy;
  const t = lengthSq ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / lengthSq)) : 0;
  return { distance: Math.hypot(px - (ax + t * dx), py - (ay + t * dy)), t };
}

// Every ring of a polygon with its address: ring -1 is the exterior, 0.. are holes.
export function rings(polygon) {
  return [[-1, polygon.exterior], ...polygon.holes.map((hole, i) => [i, hole])];
}

export function ringOf(polygon, ringIndex) {
  return ringIndex < 0 ? polygon.exterior : polygon.holes[ringIndex];
}

// The vertex of `polygon` nearest `point` within `radius`, as {ring, index}, else null.
export function nearestVertex(polygon, point, radius) {
  let best = null;
  for (const [ring, points] of rings(polygon)) {
    points.forEach(([x, y], index) => {
      const d = Math.hypot(x - point[0], y - point[1]);
      if (d <= radius && (!best || d < best.d)) best = { ring, index, d };
    });
  }
  return best;
}

// The edge of `polygon` nearest `point` within `radius`, as {ring, index (insert after), at}.
export function nearestEdge(polygon, point, radius) {
  let best = null;
  for (const [ring, points] of rings(polygon)) {
    for (let i = 0; i < points.length; i++) {
      const a = points[i];
      const b = points[(i + 1) % points.length];
      const { distance, t } = distanceToSegment(point, a, b);
      if (distance <= radius && (!best || distance < best.distance)) {
        best = { ring, index: i, distance, at: [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])] };
      }
    }
  }
  return best;
}

// The smallest polygon containing `point` (so a cell inside a spheroid's hole wins), or -1.
export function polygonAt(polygons, point) {
  let found = -1;
  let foundArea = Infinity;
  polygons.forEach((polygon, index) => {
    if (!polygon.bbox) polygon.bbox = bbox(polygon.exterior);
    const [x0, y0, x1, y1] = polygon.bbox;
    if (point[0] < x0 || point[0] > x1 || point[1] < y0 || point[1] > y1) return;
    if (!insidePolygon(point, polygon)) return;
    const area = ringArea(polygon.exterior);
    if (area < foundArea) {
      found = index;
      foundArea = area;
    }
  });
  return found;
}

export function bbox(ring) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of ring) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}
