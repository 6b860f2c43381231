// The measurements table: one row per object with the metrics the API computed, sortable by
// any column; hovering a row highlights its polygon and the other way round.

import { h } from "./ui.js";

const PREFERRED = [/^object_id$/, /^class$/, /^area_/, /^perimeter_(px|um)$/, /^circularity$/, /^solidity$/, /^eccentricity$/, /^feret_max_(px|um)$/, /^feret_min_(px|um)$/, /^equivalent_diameter_/, /^hole_count$/, /^hole_area_/];

function format(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number" && !Number.isInteger(value)) return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4);
  return String(value);
}

export class MeasurementsTable {
  constructor({ onHover, onSelect }) {
    this.onHover = onHover; // (objectId | null)
    this.onSelect = onSelect; // (objectId)
    this.rows = [];
    this.sortKey = "object_id";
    this.ascending = true;
    this.allColumns = false;
    this.rowsById = new Map();
    const toggle = h("input", { type: "checkbox", onchange: () => ((this.allColumns = toggle.checked), this.render()) });
    this.note = h("p", { class: "muted", "aria-live": "polite" });
    this.table = h("table", { class: "measurements", "aria-label": "Measurements" });
    this.element = h("section", { class: "measurements-panel", "aria-label": "Measurements" }, h("div", { class: "toolbar" }, h("h2", {}, "Measurements"), h("label", {}, toggle, " all columns")), this.note, h("div", { class: "table-scroll" }, this.table));
    this.table.addEventListener("mouseleave", () => this.onHover(null));
  }

  setRows(rows, note = "") {
    this.rows = rows;
    this.note.textContent = note || `${rows.length} objects`;
    this.render();
  }

  setNote(text) {
    this.note.textContent = text;
  }

  columns() {
    const keys = this.rows.length ? Object.keys(this.rows[0]) : ["object_id", "class"];
    if (this.allColumns) return keys;
    return PREFERRED.map((pattern) => keys.find((k) => pattern.test(k))).filter(Boolean);
  }

  sortBy(key) {
    this.ascending = this.sortKey === key ? !this.ascending : true;
    this.sortKey = key;
    this.render();
  }

  render() {
    const columns = this.columns();
    const key = this.sortKey;
    const sign = this.ascending ? 1 : -1;
    const sorted = [...this.rows].sort((a, b) => {
      const x = a[key];
      const y = b[key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    const head = h(
      "tr",
      {},
      columns.map((c) =>
        h(
          "th",
          { scope: "col", "aria-sort": c === key ? (this.ascending ? "ascending" : "descending") : "none" },
          h("button", { type: "button", class: "link", onclick: () => this.sortBy(c) }, c, c === key ? h("span", { "aria-hidden": "true" }, this.ascending ? " ▲" : " ▼") : null),
        ),
      ),
    );
    this.rowsById.clear();
    const body = sorted.map((row) => {
      const tr = h(
        "tr",
        { tabindex: "0", dataset: { id: row.object_id }, onmouseenter: () => this.onHover(row.object_id), onfocus: () => this.onHover(row.object_id), onclick: () => this.onSelect(row.object_id), onkeydown: (e) => e.key === "Enter" && this.onSelect(row.object_id) },
        columns.map((c) => h("td", {}, format(row[c]))),
      );
      this.rowsById.set(row.object_id, tr);
      return tr;
    });
    this.table.replaceChildren(h("thead", {}, head), h("tbody", {}, body));
  }

  // Mark the row of `objectId` (hovered on the canvas); null clears.
  mark(objectId) {
    for (const tr of this.table.querySelectorAll("tr.marked")) tr.classList.remove("marked");
    const tr = this.rowsById.get(objectId);
    if (tr) {
      tr.classList.add("marked");
      tr.scrollIntoView({ block: "nearest" });
    }
  }
}
