// The editor's pointer and keyboard input: select, drag vertices, draw, split, pan and
// zoom. Mixed into Editor (editor.js), whose state and edit methods these call.

import { handleEditorKey } from "./editor-keys.js";
import { nearestEdge, nearestVertex, polygonAt, ringOf } from "./geometry.js";

export const PICK_RADIUS_PX = 8;

export const pointerInput = {
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
  },

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
  },

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
  },

  // A pan or zoom gesture ended: draw everything sharp at the final view.
  settle() {
    this.view.interacting = false;
    this.redraw();
  },

  pointerUp() {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    if (drag.kind === "pan") this.settle();
    if (drag.kind === "vertex" && drag.moved) this.commit(drag.before);
    if (drag.kind === "pan" && !drag.moved && drag.empty) this.select(-1);
  },

  doubleClick(e) {
    const point = this.view.toImage(e.clientX, e.clientY);
    if (this.mode === "split") return;
    if (this.mode !== "select") this.finishDrawing();
    else this.insertVertex(point);
  },

  key(e) {
    handleEditorKey(this, e);
  },
};
