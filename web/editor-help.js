// The keyboard-shortcut help panel: `?` (or the "Shortcuts" button) opens it, `?`, Escape
// or "Close" closes it. It is built from SHORTCUTS, so it lists every key the editor knows.

import { SHORTCUTS } from "./editor-keys.js";
import { h } from "./ui.js";

const MOUSE = [
  ["Click", "Select a polygon (the smallest one under the pointer wins)"],
  ["Drag a vertex", "Move it"],
  ["Double-click an edge", "Insert a vertex"],
  ["Drag empty space, middle or right drag", "Pan"],
  ["Wheel", "Zoom around the pointer"],
  ["Split mode: two clicks", "Cut the selected polygon along the line between them"],
];

export function helpPanel() {
  let box = null;
  const close = () => {
    if (!box) return;
    box.close();
    box.remove();
    box = null;
  };
  const rows = (list) => list.map(([keys, what]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, keys)), h("td", {}, what)));
  function open() {
    if (box) return;
    box = h(
      "dialog",
      { class: "modal shortcuts", id: "shortcut-help", "aria-labelledby": "shortcut-title" },
      h("h2", { id: "shortcut-title" }, "Keyboard shortcuts"),
      h("p", { class: "muted" }, "Keys act when the image has the focus (click it or tab to it)."),
      h("table", { class: "shortcut-table" }, h("tbody", {}, rows(SHORTCUTS))),
      h("h3", {}, "Mouse"),
      h("table", { class: "shortcut-table" }, h("tbody", {}, rows(MOUSE))),
      h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: close }, "Close")),
    );
    box.addEventListener("cancel", (event) => {
      event.preventDefault();
      close();
    });
    document.body.append(box);
    box.showModal();
  }
  return { open, close, toggle: () => (box ? close() : open()), isOpen: () => Boolean(box) };
}
