// Exports: choose formats and images, start, follow progress (live, with polling as a
// fallback), download the ZIP when it is ready, or cancel.

import { api, plainMessage } from "./api.js";
import { field, h } from "./ui.js";

const FORMATS = [
  ["coco", "COCO (JSON)"],
  ["yolo", "YOLO segmentation"],
  ["excel", "Excel measurements"],
  ["csv", "CSV measurements"],
  ["geojson", "GeoJSON (QuPath)"],
  ["masks", "Label masks"],
  ["imagej", "ImageJ ROIs"],
  ["overlay", "Overlay images"],
  ["json", "Segmentation JSON"],
];
const POLL_MS = 2000;
const followers = new Map(); // export id -> (event) => void

export function handleExportEvent(event) {
  const follow = followers.get(event.export_id);
  if (follow) follow(event);
}

export function exportDialog(projectId, project, selectedIds) {
  const box = h("dialog", { class: "modal", "aria-labelledby": "export-title" });
  const checks = FORMATS.map(([value, label]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "format", value, checked: value === "coco" || value === "excel" }), label),
  );
  const scope = h(
    "select",
    { name: "scope" },
    h("option", { value: "all" }, "All segmented images"),
    selectedIds.length ? h("option", { value: "selected" }, `The ${selectedIds.length} selected images`) : null,
  );
  const pixel = h("input", { type: "number", name: "pixel", step: "any", min: "0", value: project?.settings.pixel_size_um ?? "" });
  const bar = h("progress", { id: "export-progress", max: "1", value: "0", "aria-label": "Export progress" });
  const state = h("p", { class: "export-state", role: "status" });
  const download = h("a", { id: "export-download", class: "button primary", hidden: true, download: "" }, "Download ZIP");
  const start = h("button", { type: "button", class: "primary", id: "export-start" }, "Start export");
  const cancel = h("button", { type: "button", hidden: true }, "Cancel export");
  const close = h("button", { type: "button" }, "Close");
  let current = null;
  let poll = null;

  const stop = () => {
    clearInterval(poll);
    if (current) followers.delete(current);
  };

  async function ready() {
    stop();
    try {
      const link = await api.exportDownload(projectId, current);
      download.href = link.url;
      download.hidden = false;
      cancel.hidden = true;
      state.textContent = "The export is ready.";
      bar.value = 1;
    } catch (error) {
      state.textContent = plainMessage(error);
    }
  }

  function show(exp) {
    bar.value = exp.progress;
    if (exp.state === "done") ready();
    else if (exp.state === "failed" || exp.state === "cancelled") {
      stop();
      cancel.hidden = true;
      start.disabled = false;
      state.textContent = exp.state === "failed" ? `The export failed: ${exp.error || "unknown reason"}` : "The export was cancelled.";
    } else state.textContent = `${exp.state} · ${Math.round(exp.progress * 100)} %`;
  }

  start.addEventListener("click", async () => {
    const formats = checks.map((c) => c.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    if (!formats.length) return (state.textContent = "Choose at least one format.");
    const body = { formats };
    if (scope.value === "selected") body.image_ids = selectedIds.slice(0, 10000);
    if (pixel.value) body.pixel_size_um = Number(pixel.value);
    start.disabled = true;
    download.hidden = true;
    try {
      const exp = await api.createExport(projectId, body);
      current = exp.id;
      cancel.hidden = false;
      followers.set(exp.id, (event) => {
        if (event.type === "export.progress") show({ state: "running", progress: event.progress });
        else if (event.type === "export.done") ready();
        else show({ state: "failed", progress: 0, error: event.reason });
      });
      poll = setInterval(() => api.exportState(projectId, exp.id).then(show, () => {}), POLL_MS);
      show(exp);
    } catch (error) {
      start.disabled = false;
      state.textContent = plainMessage(error);
    }
  });
  cancel.addEventListener("click", async () => {
    try {
      show((await api.cancelExport(projectId, current)).export);
    } catch (error) {
      state.textContent = plainMessage(error);
    }
  });
  close.addEventListener("click", () => {
    stop();
    box.close();
    box.remove();
  });
  box.addEventListener("close", () => {
    stop();
    box.remove();
  });

  box.append(
    h("h2", { id: "export-title" }, "Export"),
    h("fieldset", {}, h("legend", {}, "Formats"), checks),
    field("Images", scope),
    field("Pixel size (µm per pixel)", pixel, "Empty: measurements in pixels."),
    bar,
    state,
    h("div", { class: "actions" }, close, cancel, start, download),
  );
  document.body.append(box);
  box.showModal();
}
