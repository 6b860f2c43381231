// The upload area: drop files or a folder, or pick them; shows per-file and overall progress.

import { filesFromDrop, UploadQueue } from "./upload.js";
import { formatBytes, h, notify } from "./ui.js";

const LISTED_FILES = 40; // the file list shows the most relevant few, the bar shows them all

export function uploadPanel(projectId, onUploaded) {
  let queue = null;
  let frame = null;
  const filesInput = h("input", { type: "file", id: "upload-files", multiple: true, accept: ".png,.jpg,.jpeg,.bmp,.tif,.tiff" });
  const folderInput = h("input", { type: "file", id: "upload-folder", multiple: true, webkitdirectory: true });
  const overall = h("progress", { id: "upload-progress", max: "1", value: "0", "aria-label": "Overall upload progress" });
  const summary = h("span", { class: "upload-summary", "aria-live": "polite" });
  const list = h("ul", { class: "upload-list", "aria-label": "Files being uploaded" });
  const retry = h("button", { type: "button", hidden: true, onclick: () => queue.retryFailed() }, "Retry failed");
  const cancel = h("button", { type: "button", hidden: true, onclick: () => queue.cancel() }, "Cancel uploads");
  const zone = h(
    "div",
    { class: "dropzone", tabindex: "0", role: "group", "aria-label": "Upload images" },
    h("p", {}, "Drop images or a folder here, or "),
    h("label", { class: "button" }, "choose files", filesInput),
    h("label", { class: "button" }, "choose a folder", folderInput),
  );

  function update() {
    if (frame) return;
    frame = requestAnimationFrame(render);
  }

  function render() {
    frame = null;
    const { sent, size, counts, count } = queue.totals;
    statusRow.hidden = false;
    overall.value = size ? sent / size : 0;
    summary.textContent =
      `${counts.done}/${count} uploaded (${formatBytes(sent)} of ${formatBytes(size)})` +
      (counts.failed ? ` · ${counts.failed} failed` : "") +
      (counts.cancelled ? ` · ${counts.cancelled} cancelled` : "");
    retry.hidden = !(counts.failed || counts.cancelled);
    cancel.hidden = !(counts.waiting || counts.sending);
    const order = { failed: 0, sending: 1, waiting: 2, cancelled: 3, done: 4 };
    const shown = [...queue.items].sort((a, b) => order[a.state] - order[b.state]).slice(0, LISTED_FILES);
    list.replaceChildren(
      ...shown.map((item) =>
        h(
          "li",
          { class: `upload-item ${item.state}` },
          h("span", { class: "upload-name" }, item.name),
          h("progress", { max: String(item.file.size), value: String(item.state === "done" ? item.file.size : item.sent), "aria-label": `Progress of ${item.name}` }),
          h("span", {}, item.state === "failed" ? `failed: ${item.error}` : item.state),
        ),
      ),
    );
    if (counts.done && !counts.waiting && !counts.sending) onUploaded();
  }

  async function start(files) {
    if (!files.length) return;
    if (!queue || !(queue.totals.counts.waiting || queue.totals.counts.sending)) queue = new UploadQueue(projectId, update);
    const skipped = await queue.add(files);
    if (skipped.length) notify(`${skipped.length} file(s) skipped: not PNG, JPEG, BMP or TIFF, or empty.`, "error");
  }

  for (const input of [filesInput, folderInput]) {
    input.addEventListener("change", () => {
      start([...input.files]);
      input.value = "";
    });
  }
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    start(await filesFromDrop(event.dataTransfer));
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      filesInput.click();
    }
  });

  const statusRow = h("div", { class: "upload-status", hidden: true }, overall, summary, retry, cancel);
  const element = h("section", { class: "uploads", "aria-label": "Uploads" }, zone, statusRow, list);
  return { element, destroy: () => frame && cancelAnimationFrame(frame) };
}
