// The viewer/editor screen: canvas with the image and its polygons, tools, save with the
// base version (409 -> conflict dialog), display adjustments and the measurements table.

import { api, ApiError, plainMessage } from "./api.js";
import { CanvasView } from "./editor-canvas.js";
import { Editor } from "./editor.js";
import { MeasurementsTable } from "./measurements.js";
import { dialog, h, notify } from "./ui.js";

export function showEditor(main, projectId, imageId) {
  let baseVersion = 0;
  let pixelSize = null;
  let dirty = false;
  const canvas = h("canvas", { class: "editor-canvas", tabindex: "0", "aria-label": "Image and polygons. Arrow keys pan, plus and minus zoom, 0 fits, N draws a polygon, H draws a hole, Delete removes, Ctrl+Z undoes." });
  const view = new CanvasView(canvas);
  const status = h("span", { class: "save-state", role: "status" }, "Loading…");
  const title = h("h1", {}, "Image");
  const table = new MeasurementsTable({
    onHover: (id) => editor.highlight(indexOf(id)),
    onSelect: (id) => editor.select(indexOf(id)),
  });
  const editor = new Editor(view, {
    onChange: (edited) => {
      if (edited) {
        dirty = true;
        table.setNote("Unsaved changes: the measurements update when you save.");
      }
      renderTools();
    },
    onHover: (index) => {
      if (index === editor.state.highlighted) return;
      const polygon = editor.state.polygons[index];
      table.mark(polygon ? polygon.id : null);
      editor.highlight(index);
    },
    onMessage: (text) => notify(text, "error"),
  });
  const indexOf = (id) => editor.state.polygons.findIndex((p) => p.id === id);

  const button = (label, id, onclick, extra = {}) => h("button", { type: "button", id, onclick, ...extra }, label);
  const modes = {
    select: button("Select / edit (V)", "mode-select", () => editor.setMode("select")),
    draw: button("Draw polygon (N)", "mode-draw", () => editor.setMode("draw")),
    hole: button("Draw hole (H)", "mode-hole", () => editor.setMode("hole")),
  };
  const undo = button("Undo", "undo", () => editor.undo());
  const redo = button("Redo", "redo", () => editor.redo());
  const deleteVertex = button("Delete vertex", "delete-vertex", () => editor.deleteVertex());
  const deletePolygon = button("Delete polygon", "delete-polygon", () => editor.deletePolygon());
  const save = button("Save", "save", () => saveNow(), { class: "primary" });

  function renderTools() {
    for (const [mode, b] of Object.entries(modes)) b.setAttribute("aria-pressed", String(editor.mode === mode));
    undo.disabled = !editor.undoStack.length;
    redo.disabled = !editor.redoStack.length;
    deletePolygon.disabled = editor.state.selected < 0;
    deleteVertex.disabled = !editor.state.selectedVertex;
    status.textContent = dirty ? "Unsaved changes" : `Saved · version ${baseVersion}`;
  }

  const brightness = h("input", { type: "range", id: "brightness", min: "0.2", max: "3", step: "0.05", value: "1" });
  const contrast = h("input", { type: "range", id: "contrast", min: "0.2", max: "3", step: "0.05", value: "1" });
  const adjust = () => {
    view.filter = `brightness(${brightness.value}) contrast(${contrast.value})`;
    editor.redraw();
  };
  brightness.addEventListener("input", adjust);
  contrast.addEventListener("input", adjust);

  async function loadSegmentation() {
    try {
      const seg = await api.segmentation(projectId, imageId, pixelSize);
      baseVersion = seg.version.version;
      editor.load(seg.document.polygons || []);
      table.setRows(seg.metrics);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      baseVersion = 0; // no segmentation yet: the first save creates version 1
      editor.load([]);
      table.setRows([], "No segmentation yet. Draw polygons or run the segmentation.");
    }
    dirty = false;
    renderTools();
  }

  async function saveNow(force = false) {
    save.disabled = true;
    status.textContent = "Saving…";
    try {
      const body = { polygons: editor.polygons(), base_version: baseVersion };
      if (pixelSize) body.pixel_size_um = pixelSize;
      const saved = await api.saveSegmentation(projectId, imageId, body);
      baseVersion = saved.version.version;
      // New polygons get their ids on the server; rows come back in the order sent.
      saved.metrics.forEach((row, i) => editor.state.polygons[i] && (editor.state.polygons[i].id = row.object_id));
      dirty = false;
      table.setRows(saved.metrics);
      notify(`Saved as version ${baseVersion}.`);
    } catch (error) {
      if (error instanceof ApiError && error.code === "version_conflict" && !force) await conflict(error);
      else notify(plainMessage(error), "error");
    } finally {
      save.disabled = false;
      renderTools();
    }
  }

  async function conflict(error) {
    const theirs = error.details.current_version;
    const choice = await dialog(
      "Someone else saved this image",
      h("p", {}, `While you were editing, version ${theirs ?? "?"} was saved (you started from version ${baseVersion}). ` +
        "Reload theirs to discard your changes, or keep yours to save them on top of theirs."),
      [["Reload theirs", "theirs"], ["Keep mine", "mine", "primary"]],
    );
    if (choice === "theirs") {
      await loadSegmentation();
      notify("Loaded the latest version; your changes were discarded.");
    } else if (choice === "mine") {
      if (typeof theirs === "number") baseVersion = theirs;
      await saveNow(true);
    }
  }

  async function load() {
    const [project, image] = await Promise.all([api.project(projectId), api.image(projectId, imageId)]);
    pixelSize = project.settings.pixel_size_um;
    editor.className = project.settings.classes[0] || "object";
    title.textContent = image.name;
    document.title = `${image.name} · Cell Segmentation Hub`;
    if (!image.width) {
      status.textContent = `This image is ${image.status}; it can be edited once it is decoded.`;
      return;
    }
    view.size = [image.width, image.height];
    // Browsers cannot show TIFF; its thumbnail stands in, stretched to the original size.
    const src = image.content_type === "image/tiff" ? image.thumbnail_url : image.original_url;
    if (src) {
      const img = new Image();
      img.src = src;
      await img.decode().catch(() => notify("The image could not be displayed; polygons are still editable.", "error"));
      view.image = img;
    }
    view.resize();
    view.fit();
    await loadSegmentation();
    editor.redraw();
  }

  const keys = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      saveNow();
    }
  };
  const beforeUnload = (e) => dirty && e.preventDefault();
  const resize = new ResizeObserver(() => view.resize() && editor.redraw());
  editor.attach(canvas);
  document.addEventListener("keydown", keys);
  window.addEventListener("beforeunload", beforeUnload);
  window.cellhubEditor = { editor, view, save: saveNow };

  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("a", { href: `#/projects/${projectId}` }, "← Gallery"),
      title,
      status,
    ),
    h("div", { class: "toolbar tools", role: "toolbar", "aria-label": "Editing tools" }, Object.values(modes), undo, redo, deleteVertex, deletePolygon, save),
    h(
      "div",
      { class: "editor" },
      h("div", { class: "canvas-wrap" }, canvas),
      h(
        "aside",
        { class: "editor-side" },
        h("label", { class: "field" }, h("span", {}, "Brightness"), brightness),
        h("label", { class: "field" }, h("span", {}, "Contrast"), contrast),
        h("p", { class: "muted help" }, "Drag empty space or use the arrow keys to pan; wheel or +/− to zoom; 0 fits. Click a polygon to select it, drag its vertices, double-click an edge to insert a vertex. While drawing: click to add points, click the first point, double-click or press Enter to close, Escape to cancel."),
        table.element,
      ),
    ),
  );
  resize.observe(canvas);
  load().catch((error) => {
    status.textContent = "";
    notify(plainMessage(error), "error");
  });
  const leave = () => {
    resize.disconnect();
    document.removeEventListener("keydown", keys);
    window.removeEventListener("beforeunload", beforeUnload);
    delete window.cellhubEditor;
  };
  leave.unsaved = () => dirty;
  return leave;
}
