// The viewer/editor screen: canvas with the image and its polygons, tools, save with the
// base version (409 -> conflict dialog), display adjustments and channel, object classes,
// version history, previous/next image, the shortcut panel and the measurements table.

import { api, ApiError, plainMessage } from "./api.js";
import { CanvasView } from "./editor-canvas.js";
import { classControl, channelControl } from "./editor-controls.js";
import { helpPanel } from "./editor-help.js";
import { versionBanner, versionsDialog } from "./editor-history.js";
import { Editor } from "./editor.js";
import { neighbours } from "./image-order.js";
import { MeasurementsTable } from "./measurements.js";
import { dialog, h, notify } from "./ui.js";

const VIEWER_ONLY = "Your role in this project is viewer: you can look, but not edit.";

export function showEditor(main, projectId, imageId) {
  let baseVersion = 0;
  let pixelSize = null;
  let dirty = false;
  let viewing = null; // an old version on view (read-only), else null
  let canEdit = true;
  const canvas = h("canvas", { class: "editor-canvas", tabindex: "0", "aria-label": "Image and polygons. Arrow keys pan, plus and minus zoom, 0 fits, N draws a polygon, H draws a hole, L splits, Delete removes, Ctrl+Z undoes. Question mark lists every shortcut." });
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
    split: button("Split with a line (L)", "mode-split", () => editor.setMode("split")),
  };
  const undo = button("Undo", "undo", () => editor.undo());
  const redo = button("Redo", "redo", () => editor.redo());
  const deleteVertex = button("Delete vertex", "delete-vertex", () => editor.deleteVertex());
  const deletePolygon = button("Delete polygon", "delete-polygon", () => editor.deletePolygon());
  const save = button("Save", "save", () => saveNow(), { class: "primary" });
  const help = helpPanel();
  const previous = button("← Previous image", "previous-image", () => go("previous"), { disabled: true, title: "Page Up" });
  const next = button("Next image →", "next-image", () => go("next"), { disabled: true, title: "Page Down" });
  const place = h("span", { class: "muted", id: "image-position" });
  let around = null;
  const classes = classControl(editor);
  const channels = channelControl((source) => {
    view.image = source;
    editor.state.revision++;
    editor.redraw();
  });
  const banner = versionBanner({ onRevert: () => revertTo(viewing), onLatest: () => loadSegmentation() });
  const editTools = [...Object.values(modes), undo, redo, deleteVertex, deletePolygon, save];

  // Moving to another image goes through the router, which asks about unsaved edits.
  function go(which) {
    if (around && around[which]) location.hash = `#/projects/${projectId}/images/${around[which]}`;
  }

  async function history() {
    const picked = await versionsDialog(projectId, imageId, baseVersion, canEdit);
    if (!picked) return;
    if (picked.action === "revert") return revertTo(picked.version);
    if (picked.version === baseVersion) return loadSegmentation();
    if (dirty && !confirm("You have unsaved changes. Show the old version and discard them?")) return;
    try {
      const seg = await api.segmentationVersion(projectId, imageId, picked.version, pixelSize);
      editor.readOnly = "This is an old version, shown read-only. Go back to the latest version to edit.";
      editor.setMode("select");
      editor.load(seg.document.polygons || []);
      table.setRows(seg.metrics);
      viewing = picked.version;
      dirty = false;
      banner.show(viewing, baseVersion, canEdit);
      renderTools();
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  async function revertTo(version) {
    if (dirty && !confirm("You have unsaved changes. Revert anyway and discard them?")) return;
    try {
      const saved = await api.revertSegmentation(projectId, imageId, { to_version: version, base_version: baseVersion });
      await loadSegmentation();
      notify(`Version ${version} saved again as version ${saved.version.version}.`);
    } catch (error) {
      notify(plainMessage(error), "error");
      if (error instanceof ApiError && error.code === "version_conflict") await loadSegmentation();
    }
  }

  function renderTools() {
    for (const [mode, b] of Object.entries(modes)) b.setAttribute("aria-pressed", String(editor.mode === mode));
    undo.disabled = !editor.undoStack.length;
    redo.disabled = !editor.redoStack.length;
    deletePolygon.disabled = editor.state.selected < 0;
    deleteVertex.disabled = !editor.state.selectedVertex;
    for (const tool of editTools) tool.hidden = !canEdit || viewing !== null;
    classes.render();
    if (viewing !== null) status.textContent = `Viewing version ${viewing}`;
    else if (!canEdit) status.textContent = `View only (your role is viewer) · version ${baseVersion}`;
    else status.textContent = dirty ? "Unsaved changes" : `Saved · version ${baseVersion}`;
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
      editor.readOnly = canEdit ? false : VIEWER_ONLY;
      editor.load(seg.document.polygons || []);
      table.setRows(seg.metrics);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      baseVersion = 0; // no segmentation yet: the first save creates version 1
      editor.readOnly = canEdit ? false : VIEWER_ONLY;
      editor.load([]);
      table.setRows([], "No segmentation yet. Draw polygons or run the segmentation.");
    }
    dirty = false;
    viewing = null;
    banner.hide();
    renderTools();
  }

  async function saveNow(force = false) {
    if (!canEdit || viewing !== null) return;
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
    canEdit = project.role !== "viewer";
    editor.className = project.settings.classes[0] || "object";
    classes.setClasses(project.settings.classes);
    neighbours(projectId, imageId).then((found) => {
      around = found;
      previous.disabled = !found.previous;
      next.disabled = !found.next;
      place.textContent = found.position ? `${found.position} of ${found.total}` : "";
    }, () => {});
    title.textContent = image.name;
    document.title = `${image.name} · Cell Segmentation Hub`;
    if (!image.width) {
      status.textContent = `This image is ${image.status}; it can be edited once it is decoded.`;
      return;
    }
    view.size = [image.width, image.height];
    // Browsers cannot show TIFF; its thumbnail stands in, stretched to the original size.
    const src = image.content_type === "image/tiff" ? image.thumbnail_url : image.original_url;
    let shown = null;
    if (src) {
      const img = new Image();
      img.src = src;
      shown = await img.decode().then(() => img, () => notify("The image could not be displayed; polygons are still editable.", "error"));
      view.image = img;
    }
    channels.setup(image, image.content_type === "image/tiff" ? null : shown || null);
    view.resize();
    view.fit();
    await loadSegmentation();
    editor.redraw();
  }

  const keys = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      saveNow();
      return;
    }
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName);
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") {
      e.preventDefault();
      help.toggle();
    } else if ((e.key === "PageUp" || e.key === "PageDown") && !help.isOpen()) {
      e.preventDefault();
      go(e.key === "PageUp" ? "previous" : "next");
    }
  };
  const beforeUnload = (e) => dirty && e.preventDefault();
  const resize = new ResizeObserver(() => view.resize() && editor.redraw());
  editor.attach(canvas);
  document.addEventListener("keydown", keys);
  window.addEventListener("beforeunload", beforeUnload);
  window.cellhubEditor = { editor, view, save: saveNow, imageId };

  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("a", { href: `#/projects/${projectId}` }, "← Gallery"),
      title,
      status,
      h("span", { class: "spacer" }),
      previous,
      place,
      next,
    ),
    h(
      "div",
      { class: "toolbar tools", role: "toolbar", "aria-label": "Editing tools" },
      editTools,
      button("History…", "history", history),
      button("Shortcuts (?)", "shortcuts", () => help.open()),
    ),
    banner.element,
    h(
      "div",
      { class: "editor" },
      h("div", { class: "canvas-wrap" }, canvas),
      h(
        "aside",
        { class: "editor-side" },
        h("label", { class: "field" }, h("span", {}, "Brightness"), brightness),
        h("label", { class: "field" }, h("span", {}, "Contrast"), contrast),
        channels.element,
        classes.element,
        h("p", { class: "muted help" }, "Drag empty space or use the arrow keys to pan; wheel or +/− to zoom; 0 fits. Click a polygon to select it, drag its vertices, double-click an edge to insert a vertex. While drawing: click to add points, click the first point, double-click or press Enter to close, Escape to cancel. Split: select a polygon, press L, click on both sides of it. Press ? for every shortcut."),
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
    help.close();
    document.removeEventListener("keydown", keys);
    window.removeEventListener("beforeunload", beforeUnload);
    delete window.cellhubEditor;
  };
  leave.unsaved = () => dirty;
  return leave;
}
