// The segmentation's version history: a dialog listing every saved version with "View"
// and "Revert", and the banner shown while an old version is on view (read-only).

import { api, plainMessage } from "./api.js";
import { h, notify } from "./ui.js";

const when = (iso) => new Date(iso).toLocaleString();

// Resolves with {action: "view" | "revert", version}, or null when closed.
export async function versionsDialog(projectId, imageId, latest, canEdit) {
  let versions;
  try {
    versions = (await api.segmentationVersions(projectId, imageId)).versions;
  } catch (error) {
    notify(plainMessage(error), "error");
    return null;
  }
  return new Promise((resolve) => {
    const box = h("dialog", { class: "modal versions", "aria-labelledby": "versions-title" });
    const finish = (value) => {
      box.close();
      box.remove();
      resolve(value);
    };
    const row = (v) =>
      h(
        "tr",
        { dataset: { version: String(v.version) } },
        h("td", {}, `${v.version}${v.version === latest ? " (latest)" : ""}`),
        h("td", {}, when(v.created_at)),
        h("td", {}, v.source === "model" ? `model ${v.model}` : "manual edit"),
        h("td", {}, String(v.object_count)),
        h(
          "td",
          {},
          h("button", { type: "button", "aria-label": `View version ${v.version}`, onclick: () => finish({ action: "view", version: v.version }) }, "View"),
          canEdit && v.version !== latest
            ? h("button", { type: "button", "aria-label": `Revert to version ${v.version}`, onclick: () => finish({ action: "revert", version: v.version }) }, "Revert")
            : null,
        ),
      );
    box.append(
      h("h2", { id: "versions-title" }, "Version history"),
      versions.length
        ? h(
            "table",
            { class: "versions-table" },
            h("thead", {}, h("tr", {}, ["Version", "Saved", "By", "Objects", ""].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, [...versions].reverse().map(row)),
          )
        : h("p", {}, "No version has been saved yet."),
      h("p", { class: "muted" }, "Reverting saves the old polygons again as a new version; no version is ever lost."),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => finish(null) }, "Close")),
    );
    box.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    document.body.append(box);
    box.showModal();
  });
}

// The strip above the canvas while an old version is shown.
export function versionBanner({ onRevert, onLatest }) {
  const text = h("span", {});
  const revert = h("button", { type: "button", id: "revert-shown", class: "primary", onclick: () => onRevert() }, "Revert to this version");
  const back = h("button", { type: "button", id: "back-to-latest", onclick: () => onLatest() }, "Back to the latest version");
  const element = h("div", { class: "version-banner", role: "status", hidden: true }, text, revert, back);
  return {
    element,
    show(version, latest, canEdit) {
      text.textContent = `Viewing version ${version} of ${latest} (read-only).`;
      revert.hidden = !canEdit;
      element.hidden = false;
    },
    hide() {
      element.hidden = true;
    },
  };
}
