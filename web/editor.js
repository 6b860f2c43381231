// The editing model and its pointer/keyboard interactions: select, drag and insert/delete
// vertices, draw polygons and holes, split with a line, set a class, delete polygons,
// pan/zoom, bounded undo/redo. `readOnly` (an old version on view) leaves only pan/zoom/select.

import { handleEditorKey } from "./editor-keys.js";
import { nearestEdge, nearestVertex, insideRing, polygonAt, ringOf } from "./geometry.js";
import { splitPolygon } from "./split.js";

const HISTORY_LIMIT = 100;
const PICK_RADIUS_PX = 8;

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
    if (this.readOnly) this.onMessage("This is an old version, shown read-only. Go back to the latest version to edit.");
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

  attach(canvas) {
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    canvas.addEventListener("dblclick", (e) => this.doubleClick(e));
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.view.interacting = true;
      clearTimeout(this.wheelEnd);
      this.wheelEnd = setTimeout(() => this.settle(), 150);
      const rect = canvas.getBoundingClientRect();
      // Firefox reports wheel mice in lines (deltaMode 1), Chromium in pixels.
      const pixels = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? canvas.height : 1);
      this.view.zoomAt(Math.exp(-pixels * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
      this.redraw();
    }, { passive: false });
    canvas.addEventListener("keydown", (e) => this.key(e));
    canvas.addEventListener("keyup", (e) => {
      if (e.key === " ") this.spaceHeld = false;
    });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  pointerDown(e) {
    this.view.canvas.focus();
    const point = this.view.toImage(e.clientX, e.clientY);
    const start = [e.clientX, e.clientY];
    if (e.button === 1 || e.button === 2 || this.spaceHeld) {
      this.drag = { kind: "pan", last: start, moved: true };
    } else if (this.mode === "split") {
      const points = this.state.drawing;
      if (points.length) this.split(points[0], point);
      else points.push(point);
      this.redraw();
      return;
    } else if (this.mode !== "select") {
      const points = this.state.drawing;
      const first = points[0];
      if (points.length >= 3 && Math.hypot(point[0] - first[0], point[1] - first[1]) < PICK_RADIUS_PX / this.view.scale) {
        this.finishDrawing();
      } else {
        points.push(this.clamp(point));
        this.redraw();
      }
      return;
    } else {
      const selected = this.state.polygons[this.state.selected];
      const vertex = selected && !this.readOnly && nearestVertex(selected, point, PICK_RADIUS_PX / this.view.scale);
      if (vertex) {
        this.state.selectedVertex = { ring: vertex.ring, index: vertex.index };
        this.drag = { kind: "vertex", before: this.snapshot(), moved: false };
        this.redraw();
      } else {
        // A press on the selected polygon's outline keeps it selected (double-click inserts).
        const onEdge = selected && nearestEdge(selected, point, PICK_RADIUS_PX / this.view.scale);
        const index = onEdge ? this.state.selected : polygonAt(this.state.polygons, point);
        if (index >= 0 && index !== this.state.selected) this.select(index);
        this.drag = { kind: "pan", last: start, moved: false, empty: index < 0 };
      }
    }
    this.view.canvas.setPointerCapture(e.pointerId);
  }

  pointerMove(e) {
    const point = this.view.toImage(e.clientX, e.clientY);
    const drag = this.drag;
    if (drag && drag.kind === "vertex") {
      const polygon = this.state.polygons[this.state.selected];
      const { ring, index } = this.state.selectedVertex;
      ringOf(polygon, ring)[index] = this.clamp(point);
      polygon.bbox = null;
      drag.moved = true;
      this.redraw();
    } else if (drag && drag.kind === "pan") {
      const dx = e.clientX - drag.last[0];
      const dy = e.clientY - drag.last[1];
      if (Math.abs(dx) + Math.abs(dy) > 0) drag.moved = true;
      drag.last = [e.clientX, e.clientY];
      this.view.interacting = drag.moved;
      this.view.pan(dx, dy);
      this.redraw();
    } else if (this.mode !== "select") {
      this.state.cursor = point;
      this.redraw();
    } else {
      this.onHover(polygonAt(this.state.polygons, point));
    }
  }

  // A pan or zoom gesture ended: draw everything sharp at the final view.
  settle() {
    this.view.interacting = false;
    this.redraw();
  }

  pointerUp() {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    if (drag.kind === "pan") this.settle();
    if (drag.kind === "vertex" && drag.moved) this.commit(drag.before);
    if (drag.kind === "pan" && !drag.moved && drag.empty) this.select(-1);
  }

  doubleClick(e) {
    const point = this.view.toImage(e.clientX, e.clientY);
    if (this.mode === "split") return;
    if (this.mode !== "select") this.finishDrawing();
    else this.insertVertex(point);
  }

  key(e) {
    handleEditorKey(this, e);
  }
}
