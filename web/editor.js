// The editing model: select, insert/delete vertices, draw polygons and holes, split with a
// line, set a class, delete polygons, bounded undo/redo. `readOnly` (a viewer, or an old
// version on view; its value is the reason, in words) leaves only pan/zoom/select. Pointer and keyboard input live in editor-pointer.js.

import { PICK_RADIUS_PX, pointerInput } from "./editor-pointer.js";
import { nearestEdge, insideRing, ringOf } from "./geometry.js";
import { splitPolygon } from "./split.js";

const HISTORY_LIMIT = 100;

export class Editor {
  constructor(view, { onChange, onHover, onMessage }) {
    this.view = view;
    this.onChange = onChange; // polygons edited, or undo/redo/selection state changed
    this.onHover = onHover; // (index) polygon under the pointer
    this.onMessage = onMessage;
    this.state = { polygons: [], selected: -1, selectedVertex: null, highlighted: -1, drawing: null, drawingHole: false, cursor: null, revision: 0 };
    this.mode = "select";
    this.undoStack = [];
    this.redoStack = [];
    this.drag = null;
    this.frame = null;
    this.className = "object";
    this.readOnly = false;
  }

  // False (with a message) while an old version is on view.
  writable() {
    if (this.readOnly) this.onMessage(this.readOnly);
    return !this.readOnly;
  }

  load(polygons) {
    this.state.polygons = polygons.map((p) => ({ id: p.id, exterior: p.exterior, holes: p.holes || [], class: p.class || "object", score: p.score ?? null }));
    this.state.selected = -1;
    this.state.selectedVertex = null;
    this.state.drawing = null;
    this.state.revision++;
    this.undoStack = [];
    this.redoStack = [];
    this.redraw();
    this.onChange(false);
  }

  // The polygons as the API reads them.
  polygons() {
    return this.state.polygons.map((p) => ({ id: p.id || null, exterior: p.exterior, holes: p.holes, class: p.class, score: p.score }));
  }

  snapshot() {
    return structuredClone(this.polygons());
  }

  commit(before) {
    this.state.revision++;
    this.undoStack.push(before);
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
    this.onChange(true);
  }

  restore(from, to) {
    if (!from.length) return;
    to.push(this.snapshot());
    this.state.polygons = from.pop();
    this.state.revision++;
    this.state.selected = -1; // indices may have shifted; never leave a wrong one selected
    this.state.selectedVertex = null;
    this.redraw();
    this.onChange(true);
  }

  undo() {
    this.restore(this.undoStack, this.redoStack);
  }

  redo() {
    this.restore(this.redoStack, this.undoStack);
  }

  setMode(mode) {
    if (mode !== "select" && !this.writable()) return;
    if ((mode === "hole" || mode === "split") && this.state.selected < 0) {
      this.onMessage(mode === "hole" ? "Select the polygon that gets the hole first." : "Select the polygon to split first.");
      return;
    }
    this.mode = mode;
    this.state.drawing = mode === "select" ? null : [];
    this.state.drawingHole = mode === "hole";
    this.state.drawingLine = mode === "split";
    this.view.canvas.dataset.mode = mode;
    this.redraw();
    this.onChange(null);
  }

  select(index) {
    this.state.selected = index;
    this.state.selectedVertex = null;
    this.redraw();
    this.onChange(null);
  }

  highlight(index) {
    if (this.state.highlighted === index) return;
    this.state.highlighted = index;
    this.redraw();
  }

  // The class of the selected polygon, or of the polygons drawn next when none is selected.
  setClass(name) {
    const polygon = this.state.polygons[this.state.selected];
    if (!polygon) return void (this.className = name);
    if (polygon.class === name || !this.writable()) return;
    const before = this.snapshot();
    polygon.class = name;
    this.commit(before);
  }

  // Cut the selected polygon along the line a-b; the first part stays selected.
  split(a, b) {
    const index = this.state.selected;
    const polygon = this.state.polygons[index];
    if (!polygon) return;
    const result = splitPolygon(polygon, a, b);
    if (result.error) {
      this.state.drawing = [];
      this.redraw();
      return this.onMessage(result.error);
    }
    const before = this.snapshot();
    this.state.polygons.splice(index, 1, ...result.parts);
    this.state.selectedVertex = null;
    this.commit(before);
    this.setMode("select");
  }

  deletePolygon() {
    const { selected, polygons } = this.state;
    if (selected < 0 || !this.writable()) return;
    const before = this.snapshot();
    polygons.splice(selected, 1);
    this.state.selected = -1;
    this.state.selectedVertex = null;
    this.commit(before);
    this.redraw();
  }

  deleteVertex() {
    const { selected, selectedVertex, polygons } = this.state;
    if (selected < 0 || !selectedVertex) return this.onMessage("Click a vertex of the selected polygon first.");
    if (!this.writable()) return;
    const ring = ringOf(polygons[selected], selectedVertex.ring);
    if (ring.length <= 3) return this.onMessage("A ring needs at least 3 vertices; delete the polygon instead.");
    const before = this.snapshot();
    ring.splice(selectedVertex.index, 1);
    polygons[selected].bbox = null;
    this.state.selectedVertex = null;
    this.commit(before);
    this.redraw();
  }

  insertVertex(point) {
    const polygon = this.state.polygons[this.state.selected];
    if (!polygon || this.readOnly) return;
    const edge = nearestEdge(polygon, point, PICK_RADIUS_PX / this.view.scale);
    if (!edge) return;
    const before = this.snapshot();
    ringOf(polygon, edge.ring).splice(edge.index + 1, 0, edge.at);
    polygon.bbox = null;
    this.state.selectedVertex = { ring: edge.ring, index: edge.index + 1 };
    this.commit(before);
    this.redraw();
  }

  finishDrawing() {
    const points = this.state.drawing || [];
    const radius = PICK_RADIUS_PX / this.view.scale;
    // A double click adds two nearly equal points; keep one.
    const ring = points.filter((p, i) => i === 0 || Math.hypot(p[0] - points[i - 1][0], p[1] - points[i - 1][1]) > radius / 4);
    if (ring.length < 3) return this.onMessage("A polygon needs at least 3 points.");
    const before = this.snapshot();
    if (this.state.drawingHole) {
      const polygon = this.state.polygons[this.state.selected];
      if (!polygon || !ring.every((p) => insideRing(p, polygon.exterior))) {
        return this.onMessage("A hole must lie inside the selected polygon.");
      }
      polygon.holes.push(ring);
    } else {
      this.state.polygons.push({ id: null, exterior: ring, holes: [], class: this.className, score: null });
      this.state.selected = this.state.polygons.length - 1;
    }
    this.state.drawing = [];
    this.commit(before);
    this.setMode("select");
  }

  clamp([x, y]) {
    const [w, h] = this.view.size;
    return [Math.min(w, Math.max(0, x)), Math.min(h, Math.max(0, y))];
  }

  redraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.view.draw(this.state);
    });
  }
}

Object.assign(Editor.prototype, pointerInput);
