// Direct uploads: the API plans each file (presigned POST or multipart part URLs), the bytes
// go straight to storage, several files at a time, with per-file and overall progress,
// retry of failed files and cancel.

import { api, plainMessage } from "./api.js";

const PARALLEL_FILES = 4;
const PLAN_BATCH = 500;
const TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", bmp: "image/bmp", tif: "image/tiff", tiff: "image/tiff", btf: "image/tiff", tf8: "image/tiff" };

export function imageType(name) {
  const suffix = name.toLowerCase().split(".").pop();
  return TYPES[suffix] || null;
}

// Every file under the dropped items, folders walked recursively.
export async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const files = [];
  async function walk(entry) {
    if (entry.isFile) files.push(await new Promise((ok, fail) => entry.file(ok, fail)));
    else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  }
  for (const entry of entries) await walk(entry);
  return files;
}

function send(method, url, body, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else {
        let message = `the storage answered ${xhr.status}`;
        try {
          message = JSON.parse(xhr.responseText).error.message || message;
        } catch {}
        reject(new Error(message));
      }
    };
    xhr.onerror = () => reject(new Error("the connection to the storage failed"));
    xhr.onabort = () => reject(new DOMException("cancelled", "AbortError"));
    signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

// One upload session; `onUpdate(items)` is called (throttled by the caller) on every change.
export class UploadQueue {
  constructor(projectId, onUpdate) {
    this.projectId = projectId;
    this.onUpdate = onUpdate;
    this.items = [];
    this.active = 0;
  }

  get totals() {
    let sent = 0;
    let size = 0;
    const counts = { done: 0, failed: 0, cancelled: 0, waiting: 0, sending: 0 };
    for (const item of this.items) {
      size += item.file.size;
      sent += item.state === "done" ? item.file.size : item.sent;
      counts[item.state] = (counts[item.state] || 0) + 1;
    }
    return { sent, size, counts, count: this.items.length };
  }

  // Add files; those that are not images are returned and skipped.
  async add(files) {
    const skipped = files.filter((f) => !imageType(f.name) || f.size === 0);
    const accepted = files.filter((f) => imageType(f.name) && f.size > 0);
    const fresh = accepted.map((file) => ({ file, name: file.webkitRelativePath || file.name, state: "waiting", sent: 0, error: "", plan: null, controller: null }));
    this.items.push(...fresh);
    this.onUpdate();
    for (let i = 0; i < fresh.length; i += PLAN_BATCH) await this.plan(fresh.slice(i, i + PLAN_BATCH));
    return skipped;
  }

  async plan(items) {
    try {
      const plan = await api.planUploads(
        this.projectId,
        items.map((item) => ({ name: item.name, size: item.file.size, content_type: imageType(item.file.name) })),
      );
      plan.uploads.forEach((planned, i) => (items[i].plan = planned));
    } catch (error) {
      for (const item of items) Object.assign(item, { state: "failed", error: plainMessage(error) });
    }
    this.onUpdate();
    this.pump();
  }

  pump() {
    while (this.active < PARALLEL_FILES) {
      const item = this.items.find((i) => i.state === "waiting" && i.plan);
      if (!item) return;
      this.active++;
      this.upload(item).finally(() => {
        this.active--;
        this.onUpdate();
        this.pump();
      });
    }
  }

  async upload(item) {
    item.state = "sending";
    item.sent = 0;
    item.error = "";
    item.controller = new AbortController();
    const signal = item.controller.signal;
    const { post, multipart } = item.plan;
    try {
      if (post) {
        const form = new FormData();
        for (const [key, value] of Object.entries(post.fields)) form.append(key, value);
        form.append("file", item.file);
        await send("POST", post.url, form, (n) => this.progress(item, Math.min(n, item.file.size)), signal);
      } else {
        const parts = [];
        for (let n = 0; n < multipart.part_urls.length; n++) {
          const start = n * multipart.part_size;
          const blob = item.file.slice(start, start + multipart.part_size);
          const xhr = await send("PUT", multipart.part_urls[n], blob, (sent) => this.progress(item, start + sent), signal);
          parts.push({ part_number: n + 1, etag: xhr.getResponseHeader("ETag") || "" });
        }
        await api.completeUpload(this.projectId, item.plan.image_id, { upload_id: multipart.upload_id, parts });
      }
      item.state = "done";
    } catch (error) {
      if (error.name === "AbortError") item.state = "cancelled";
      else Object.assign(item, { state: "failed", error: plainMessage(error) });
    }
  }

  progress(item, sent) {
    item.sent = sent;
    this.onUpdate();
  }

  retryFailed() {
    const stale = [];
    for (const item of this.items.filter((i) => i.state === "failed" || i.state === "cancelled")) {
      const expired = !item.plan || new Date(item.plan.post?.expires_at || item.plan.multipart?.expires_at) < new Date();
      Object.assign(item, { state: "waiting", error: "", sent: 0 });
      if (expired) {
        item.plan = null;
        stale.push(item);
      }
    }
    this.onUpdate();
    if (stale.length) this.plan(stale);
    this.pump();
  }

  // Stop every unfinished file and drop its image record, which would otherwise stay "uploading".
  async cancel() {
    const open = this.items.filter((i) => i.state === "waiting" || i.state === "sending");
    for (const item of open) {
      item.state = "cancelled";
      if (item.controller) item.controller.abort();
    }
    this.onUpdate();
    const ids = open.map((i) => i.plan && i.plan.image_id).filter(Boolean);
    for (let i = 0; i < ids.length; i += 1000) {
      await api.deleteImages(this.projectId, ids.slice(i, i + 1000)).catch(() => {});
    }
    for (const item of open) item.plan = null;
  }
}
