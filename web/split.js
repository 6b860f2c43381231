// Splitting a polygon with a straight line: the line must cross the exterior exactly twice
// and no hole; each hole goes to the part it lies in.

import { insideRing } from "./geometry.js";

// Where segment a-b meets segment c-d, as {t (along a-b), point}, or null.
function crossing(a, b, c, d) {
  const rx = b[0] - a[0], ry = b[1] - a[1];
  const sx = d[0] - c[0], sy = d[1] - c[1];
  const denominator = rx * sy - ry * sx;
  if (Math.abs(denominator) < 1e-12) return null; // parallel or collinear
  const qx = c[0] - a[0], qy = c[1] - a[1];
  const t = (qx * sy - qy * sx) / denominator;
  const u = (qx * ry - qy * rx) / denominator;
  if (t < 0 || t > 1 || u < 0 || u >= 1) return null; // u = 1 is the next edge's u = 0
  return { t, point: [a[0] + t * rx, a[1] + t * ry] };
}

function crossings(a, b, ring) {
  const found = [];
  for (let i = 0; i < ring.length; i++) {
    const hit = crossing(a, b, ring[i], ring[(i + 1) % ring.length]);
    if (hit) found.push({ ...hit, edge: i });
  }
  return found;
}

// The two polygons made by cutting `polygon` along a-b, or {error} in words.
export function splitPolygon(polygon, a, b) {
  if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 1e-9) return { error: "Draw a line, not a point." };
  if (polygon.holes.some((hole) => crossings(a, b, hole).length)) {
    return { error: "The line crosses a hole. Draw it so that it passes beside the holes." };
  }
  const hits = crossings(a, b, polygon.exterior);
  if (hits.length !== 2) {
    return {
      error: `The line must cross the polygon's outline exactly twice (it crosses ${hits.length} time${hits.length === 1 ? "" : "s"}). Start and end it outside the polygon.`,
    };
  }
  const [first, second] = hits[0].edge <= hits[1].edge ? hits : [hits[1], hits[0]];
  const ring = polygon.exterior;
  const n = ring.length;
  // Part one: from the first crossing along the outline to the second; part two: the rest.
  const one = [first.point, ...ring.slice(first.edge + 1, second.edge + 1), second.point];
  const two = [second.point];
  for (let k = (second.edge + 1) % n; ; k = (k + 1) % n) {
    two.push(ring[k]);
    if (k === first.edge) break;
  }
  two.push(first.point);
  const parts = [one, two].map((exterior) => ({ exterior, holes: [] }));
  if (parts.some((part) => dedupe(part.exterior).length < 3)) {
    return { error: "The line only touches the polygon's corner. Draw it across the polygon." };
  }
  for (const hole of polygon.holes) {
    const home = insideRing(hole[0], one) ? parts[0] : parts[1];
    home.holes.push(hole);
  }
  return {
    parts: parts.map((part, i) => ({
      id: i === 0 ? polygon.id : null,
      exterior: part.exterior,
      holes: part.holes,
      class: polygon.class,
      score: null,
    })),
  };
}

function dedupe(ring) {
  return ring.filter((p, i) => {
    const q = ring[(i + ring.length - 1) % ring.length];
    return Math.hypot(p[0] - q[0], p[1] - q[1]) > 1e-9;
  });
}
