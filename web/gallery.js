// The image gallery: a virtually scrolled grid (only the visible rows are in the DOM), live
// status badges, a status filter and a selection.

import { api } from "./api.js";
import { h } from "./ui.js";

const CELL_W = 168;
const CELL_H = 196;
const OVERSCAN_ROWS = 2;
const THUMB_FETCHES = 6;
const URL_LIFETIME_MS = 4 * 60 * 1000; // the API's links last 5 minutes

export const STATUSES = ["uploading", "ready", "rejected", "queued", "processing", "segmented", "failed"];

export class Gallery {
  constructor(projectId, { onOpen, onChange = () => {} }) {
    this.projectId = projectId;
    this.onOpen = onOpen;
    this.onChange = onChange;
    this.images = [];
    this.byId = new Map();
    this.shown = [];
    this.filter = "";
    this.selected = new Set();
    this.cells = new Map(); // index in `shown` -> element
    this.thumbs = new Map(); // image id -> {url, at}
    this.waiting = [];
    this.fetching = 0;
    this.spacer = h("div", { class: "gallery-spacer" });
    this.element = h("div", { class: "gallery", tabindex: "0", role: "list", "aria-label": "Images" }, this.spacer);
    this.element.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.resizer = new ResizeObserver(() => this.schedule(true));
    this.resizer.observe(this.element);
  }

  destroy() {
    this.resizer.disconnect();
  }

  // Replace every image (a full load or re-sync from REST).
  setImages(images) {
    this.images = images;
    this.byId = new Map(images.map((image, i) => [image.id, i]));
    for (const id of this.selected) if (!this.byId.has(id)) this.selected.delete(id);
    this.refilter();
  }

  addImages(images) {
    for (const image of images) {
      if (this.byId.has(image.id)) continue;
      this.byId.set(image.id, this.images.length);
      this.images.push(image);
    }
    this.refilter();
  }

  // Merge a change into one image; returns false when the id is unknown.
  update(id, changes) {
    const index = this.byId.get(id);
    if (index === undefined) return false;
    const image = this.images[index];
    const wasShown = !this.filter || image.status === this.filter;
    Object.assign(image, changes);
    if (wasShown !== (!this.filter || image.status === this.filter)) return this.refilter() || true;
    // Only the visible cells exist; a status change elsewhere needs no DOM work.
    for (const cell of this.cells.values()) if (cell.dataset.id === id) this.fill(cell, image);
    this.onChange();
    return true;
  }

  setFilter(status) {
    this.filter = status;
    this.element.scrollTop = 0;
    this.refilter();
  }

  refilter() {
    this.shown = this.filter ? this.images.filter((i) => i.status === this.filter) : this.images;
    this.schedule(true);
    this.onChange();
  }

  counts() {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const image of this.images) counts[image.status] = (counts[image.status] || 0) + 1;
    return counts;
  }

  selectAllShown(on) {
    for (const image of this.shown) on ? this.selected.add(image.id) : this.selected.delete(image.id);
    this.schedule(true);
    this.onChange();
  }

  schedule(full = false) {
    this.dirty ||= full;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render(this.dirty);
      this.dirty = false;
    });
  }

  render(full) {
    const width = this.element.clientWidth || CELL_W;
    const columns = Math.max(1, Math.floor(width / CELL_W));
    const rows = Math.ceil(this.shown.length / columns);
    this.spacer.style.height = `${rows * CELL_H}px`;
    const top = this.element.scrollTop;
    const first = Math.max(0, Math.floor(top / CELL_H) - OVERSCAN_ROWS);
    const last = Math.min(rows, Math.ceil((top + this.element.clientHeight) / CELL_H) + OVERSCAN_ROWS);
    const start = first * columns;
    const end = Math.min(this.shown.length, last * columns);
    if (full || columns !== this.columns) {
      for (const cell of this.cells.values()) cell.remove();
      this.cells.clear();
    }
    this.columns = columns;
    for (const [index, cell] of this.cells) {
      if (index < start || index >= end) {
        cell.remove();
        this.cells.delete(index);
      }
    }
    for (let index = start; index < end; index++) {
      if (this.cells.has(index)) continue;
      const cell = this.cell();
      cell.style.transform = `translate(${(index % columns) * CELL_W}px, ${Math.floor(index / columns) * CELL_H}px)`;
      this.fill(cell, this.shown[index]);
      this.spacer.append(cell);
      this.cells.set(index, cell);
    }
  }

  cell() {
    const check = h("input", { type: "checkbox" });
    const cell = h(
      "div",
      { class: "thumb", role: "listitem" },
      h("button", { type: "button", class: "thumb-open" }, h("img", { alt: "", loading: "lazy", decoding: "async" })),
      h("div", { class: "thumb-meta" }, h("label", { class: "thumb-select" }, check, h("span", { class: "thumb-name" })), h("span", { class: "badge" })),
    );
    check.addEventListener("change", () => {
      const id = cell.dataset.id;
      check.checked ? this.selected.add(id) : this.selected.delete(id);
      this.onChange();
    });
    cell.querySelector(".thumb-open").addEventListener("click", () => this.onOpen(this.images[this.byId.get(cell.dataset.id)]));
    return cell;
  }

  fill(cell, image) {
    cell.dataset.id = image.id;
    cell.dataset.status = image.status;
    const name = cell.querySelector(".thumb-name");
    name.textContent = image.name;
    cell.querySelector(".thumb-open").setAttribute("aria-label", `Open ${image.name}`);
    cell.querySelector("input").checked = this.selected.has(image.id);
    cell.querySelector("input").setAttribute("aria-label", `Select ${image.name}`);
    const badge = cell.querySelector(".badge");
    badge.className = `badge ${image.status}`;
    badge.textContent =
      image.status === "segmented" ? `segmented · ${image.object_count}`
        : image.status === "queued" && image.queue_position ? `queued · #${image.queue_position}`
          : image.status;
    badge.title = image.reason || (image.status === "queued" && image.queue_position ? `Position ${image.queue_position} in the segmentation queue when it was queued` : "");
    const img = cell.querySelector("img");
    const cached = this.thumbs.get(image.id);
    if (cached && Date.now() - cached.at < URL_LIFETIME_MS) {
      if (img.getAttribute("src") !== cached.url) img.src = cached.url;
    } else {
      img.removeAttribute("src");
      if (image.has_thumbnail) this.requestThumb(image.id);
    }
  }

  requestThumb(id) {
    if (!this.waiting.includes(id)) this.waiting.push(id);
    this.pump();
  }

  // Thumbnail links come from the image's detail; fetch a few at a time, visible ones only.
  pump() {
    while (this.fetching < THUMB_FETCHES && this.waiting.length) {
      const id = this.waiting.shift();
      if (![...this.cells.values()].some((c) => c.dataset.id === id)) continue;
      this.fetching++;
      api
        .image(this.projectId, id)
        .then((detail) => {
          if (!detail.thumbnail_url) return;
          this.thumbs.set(id, { url: detail.thumbnail_url, at: Date.now() });
          for (const cell of this.cells.values()) if (cell.dataset.id === id) this.fill(cell, this.images[this.byId.get(id)]);
        })
        .catch(() => {})
        .finally(() => {
          this.fetching--;
          this.pump();
        });
    }
  }
}
