// Drawing the image and its polygons on a <canvas>, with the view transform (pan and zoom).
//
// Exteriors: cyan outline over a light fill; holes: dashed magenta outline, left unfilled
// (even-odd fill). The selected polygon is yellow with its vertices shown; the one
// highlighted from the measurements table is orange.

const EXTERIOR = "#00d8ff";
const HOLE = "#ff4fd8";
const SELECTED = "#ffd400";
const HIGHLIGHT = "#ff8a00";

export class CanvasView {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.scale = 1;
    this.offset = [0, 0];
    this.image = null;
    this.size = [1, 1];
    this.filter = "none";
    this.frames = 0;
    this.interacting = false; // a pan or zoom gesture is in progress
  }

  toImage(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    return [(clientX - rect.left - this.offset[0]) / this.scale, (clientY - rect.top - this.offset[1]) / this.scale];
  }

  fit() {
    const { width, height } = this.canvas;
    const [w, h] = this.size;
    this.scale = Math.min(width / w, height / h) * 0.95;
    this.offset = [(width - w * this.scale) / 2, (height - h * this.scale) / 2];
  }

  zoomAt(factor, screenX, screenY) {
    const scale = Math.min(64, Math.max(0.02, this.scale * factor));
    const k = scale / this.scale;
    this.offset = [screenX - (screenX - this.offset[0]) * k, screenY - (screenY - this.offset[1]) * k];
    this.scale = scale;
  }

  pan(dx, dy) {
    this.offset = [this.offset[0] + dx, this.offset[1] + dy];
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const width = Math.max(1, Math.round(rect.width));
    const height = Math.max(1, Math.round(rect.height));
    if (width === this.canvas.width && height === this.canvas.height) return false;
    this.canvas.width = width;
    this.canvas.height = height;
    return true;
  }

  draw(state) {
    this.frames++;
    const ctx = this.context;
    const { polygons, selected, highlighted, drawing, cursor } = state;
    // The image and every unselected polygon change only on a commit, pan/zoom or a new
    // selection; drawn once into a layer, they cost one blit per frame while a vertex moves.
    const content = [this.canvas.width, this.canvas.height, this.filter, state.revision, selected, Boolean(this.image)].join();
    const view = [this.scale, ...this.offset].join();
    if (content !== this.layerContent || (view !== this.layerView && !this.interacting)) {
      this.drawLayer(polygons, selected);
      this.layerContent = content;
      this.layerView = view;
      this.layerTransform = [this.scale, ...this.offset];
    }
    // While a pan or zoom is under way the layer is moved and scaled as a picture; it is
    // drawn sharp again once the gesture ends.
    const [s0, x0, y0] = this.layerTransform;
    const k = this.scale / s0;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (k !== 1 || x0 !== this.offset[0] || y0 !== this.offset[1]) {
      ctx.fillStyle = "#111";
      ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    }
    ctx.drawImage(this.layer, this.offset[0] - k * x0, this.offset[1] - k * y0, this.layer.width * k, this.layer.height * k);
    ctx.setTransform(this.scale, 0, 0, this.scale, this.offset[0], this.offset[1]);
    const line = 1.5 / this.scale;
    if (highlighted >= 0 && polygons[highlighted]) this.outline(polygons[highlighted], HIGHLIGHT, line * 2.5, false);
    if (selected >= 0 && polygons[selected]) {
      const fill = new Path2D();
      addRing(fill, polygons[selected].exterior);
      polygons[selected].holes.forEach((hole) => addRing(fill, hole));
      ctx.fillStyle = "rgba(255, 212, 0, 0.18)";
      ctx.fill(fill, "evenodd");
      this.outline(polygons[selected], SELECTED, line * 2, true, state.selectedVertex);
    }

    if (drawing && drawing.length) {
      ctx.strokeStyle = state.drawingHole ? HOLE : SELECTED;
      ctx.lineWidth = line * 1.5;
      ctx.beginPath();
      ctx.moveTo(drawing[0][0], drawing[0][1]);
      for (const [x, y] of drawing.slice(1)) ctx.lineTo(x, y);
      if (cursor) ctx.lineTo(cursor[0], cursor[1]);
      ctx.stroke();
      this.vertices(drawing, SELECTED);
    }
  }

  drawLayer(polygons, selected) {
    this.layer ||= document.createElement("canvas");
    this.layer.width = this.canvas.width;
    this.layer.height = this.canvas.height;
    const ctx = this.layer.getContext("2d");
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, this.layer.width, this.layer.height);
    ctx.setTransform(this.scale, 0, 0, this.scale, this.offset[0], this.offset[1]);
    if (this.image) {
      ctx.filter = this.filter;
      ctx.imageSmoothingEnabled = this.scale < 2;
      ctx.drawImage(this.image, 0, 0, this.size[0], this.size[1]);
      ctx.filter = "none";
    }
    // All other polygons in three batched paths: fill, exterior outlines, hole outlines.
    const fill = new Path2D();
    const outer = new Path2D();
    const inner = new Path2D();
    polygons.forEach((polygon, index) => {
      if (index === selected) return;
      addRing(fill, polygon.exterior);
      addRing(outer, polygon.exterior);
      for (const hole of polygon.holes) {
        addRing(fill, hole);
        addRing(inner, hole);
      }
    });
    ctx.fillStyle = "rgba(0, 216, 255, 0.15)";
    ctx.fill(fill, "evenodd");
    ctx.lineWidth = 1.5 / this.scale;
    ctx.strokeStyle = EXTERIOR;
    ctx.stroke(outer);
    ctx.setLineDash([4 / this.scale, 3 / this.scale]);
    ctx.strokeStyle = HOLE;
    ctx.stroke(inner);
  }

  outline(polygon, color, width, withVertices, selectedVertex) {
    const ctx = this.context;
    ctx.lineWidth = width;
    ctx.strokeStyle = color;
    const path = new Path2D();
    addRing(path, polygon.exterior);
    ctx.stroke(path);
    ctx.setLineDash([4 / this.scale, 3 / this.scale]);
    ctx.strokeStyle = HOLE;
    const holes = new Path2D();
    polygon.holes.forEach((hole) => addRing(holes, hole));
    ctx.stroke(holes);
    ctx.setLineDash([]);
    if (!withVertices) return;
    this.vertices(polygon.exterior, color);
    polygon.holes.forEach((hole) => this.vertices(hole, HOLE));
    if (selectedVertex) {
      const ring = selectedVertex.ring < 0 ? polygon.exterior : polygon.holes[selectedVertex.ring];
      const point = ring && ring[selectedVertex.index];
      if (point) {
        const r = 6 / this.scale;
        ctx.fillStyle = "#fff";
        ctx.fillRect(point[0] - r / 2, point[1] - r / 2, r, r);
      }
    }
  }

  vertices(points, color) {
    const ctx = this.context;
    const r = 4 / this.scale;
    ctx.fillStyle = color;
    for (const [x, y] of points) ctx.fillRect(x - r / 2, y - r / 2, r, r);
  }
}

function addRing(path, ring) {
  if (!ring.length) return;
  path.moveTo(ring[0][0], ring[0][1]);
  for (let i = 1; i < ring.length; i++) path.lineTo(ring[i][0], ring[i][1]);
  path.closePath();
}
