// One project: upload area, status counts and filter, the gallery, segmentation, active
// jobs, members and export. Controls the caller's role cannot use are hidden.

import { api, plainMessage } from "./api.js";
import { exportDialog, handleExportEvent } from "./export.js";
import { Gallery, STATUSES } from "./gallery.js";
import { rememberOrder } from "./image-order.js";
import { jobsPanel } from "./jobs.js";
import { followProject } from "./live.js";
import { membersDialog } from "./members.js";
import { modelsDialog, showModelReport } from "./models-dialog.js";
import { editProjectDialog } from "./projects-view.js";
import { uploadPanel } from "./upload-panel.js";
import { confirmDanger, h, notify } from "./ui.js";

// Every image of the project, page by page; `onFirstPage` paints before the rest arrives.
async function loadAllImages(projectId, onFirstPage) {
  const all = [];
  let cursor = null;
  do {
    const page = await api.images(projectId, { cursor });
    all.push(...page.items);
    if (!cursor && onFirstPage) onFirstPage(page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

export function showProject(main, projectId) {
  let project = null;
  const title = h("h1", {}, "Project");
  const counts = h("p", { class: "counts", "aria-live": "polite" });
  const liveState = h("span", { class: "live-state", title: "Live status connection" }, "connecting");
  const filter = h(
    "select",
    { "aria-label": "Show images with status", onchange: () => gallery.setFilter(filter.value) },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((s) => h("option", { value: s }, s)),
  );
  const selection = h("span", { class: "muted" });
  const force = h("input", { type: "checkbox", id: "force" });
  const gallery = new Gallery(projectId, {
    onOpen: (image) => (location.hash = `#/projects/${projectId}/images/${image.id}`),
    onChange: () => (countsFrame ||= requestAnimationFrame(renderCounts)),
  });
  let countsFrame = null;
  // The editor's previous/next follow the gallery's order and filter.
  rememberOrder(projectId, () => gallery.shown.map((image) => image.id));
  const jobs = jobsPanel(projectId, { canCancel: () => !project || project.role !== "viewer", onCancelled: () => resyncSoon() });

  // Once per frame at most: a segmentation run sends several events per image.
  function renderCounts() {
    countsFrame = null;
    const c = gallery.counts();
    counts.textContent =
      `${gallery.images.length} images · ` + STATUSES.filter((s) => c[s]).map((s) => `${c[s]} ${s}`).join(" · ");
    selection.textContent = gallery.selected.size ? `${gallery.selected.size} selected` : "";
  }

  let resyncTimer = null;
  async function resync() {
    clearTimeout(resyncTimer);
    resyncTimer = null;
    try {
      gallery.setImages(await loadAllImages(projectId));
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }
  const resyncSoon = () => (resyncTimer ||= setTimeout(resync, 400));

  const CHANGES = {
    "image.ready": (e) => ({ status: "ready", width: e.width, height: e.height, has_thumbnail: true }),
    "image.rejected": (e) => ({ status: "rejected", reason: e.reason }),
    "image.queued": (e) => ({ status: "queued", reason: null, queue_position: e.position }),
    "image.processing": () => ({ status: "processing" }),
    "image.segmented": (e) => ({ status: "segmented", latest_version: e.version, object_count: e.object_count, reason: null }),
    "image.failed": (e) => ({ status: "failed", reason: e.reason }),
  };

  function onEvent(event) {
    if (event.type === "upload.accepted") {
      if (event.image_ids.some((id) => !gallery.byId.has(id))) resyncSoon();
    } else if (CHANGES[event.type]) {
      if (!gallery.update(event.image_id, CHANGES[event.type](event))) resyncSoon();
      if (event.type === "image.queued") jobs.refresh();
    } else if (event.type.startsWith("export.")) handleExportEvent(event);
    else if (event.type === "job.progress") jobs.refresh();
    else if (event.type === "model_job.finished") {
      jobs.refresh();
      showModelReport(projectId, event);
    }
  }

  async function segment(selectedOnly) {
    const body = { force: force.checked };
    if (selectedOnly) {
      if (!gallery.selected.size) return notify("Select some images first.", "error");
      body.image_ids = [...gallery.selected].slice(0, 10000);
    }
    try {
      const job = await api.segment(projectId, body);
      notify(`Segmentation started for ${job.counts.total} image(s) with ${job.model}.`);
      jobs.refresh();
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  async function removeSelected() {
    const ids = [...gallery.selected];
    if (!ids.length) return notify("Select some images first.", "error");
    const sure = await confirmDanger(`Delete ${ids.length} image(s)?`, "The images, their segmentations and measurements will be deleted. This cannot be undone.");
    if (!sure) return;
    try {
      let deleted = 0;
      for (let i = 0; i < ids.length; i += 1000) deleted += (await api.deleteImages(projectId, ids.slice(i, i + 1000))).deleted;
      notify(`${deleted} image(s) deleted.`);
    } catch (error) {
      notify(plainMessage(error), "error");
    }
    resync();
  }

  // Hide what the caller's role cannot do (the API refuses it anyway).
  function applyRole(role) {
    for (const element of main.querySelectorAll("[data-needs]")) {
      element.hidden = element.dataset.needs === "owner" ? role !== "owner" : role === "viewer";
    }
    uploads.element.hidden = role === "viewer";
    // Members and settings work on the loaded project; they are enabled once it is here.
    for (const element of main.querySelectorAll("[data-loaded]")) element.disabled = false;
  }

  async function settings() {
    const body = await editProjectDialog(project);
    if (!body) return;
    try {
      project = await api.updateProject(projectId, body);
      title.textContent = project.name;
      notify("Settings saved.");
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  const uploads = uploadPanel(projectId, resyncSoon);
  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("a", { href: "#/projects" }, "← Projects"),
      title,
      liveState,
      h("button", { type: "button", id: "members", disabled: true, dataset: { loaded: "" }, onclick: () => project && membersDialog(project, { onLeft: () => (location.hash = "#/projects") }) }, "Members"),
      h("button", { type: "button", id: "models", disabled: true, dataset: { loaded: "" }, onclick: () => project && modelsDialog(project, { onJobStarted: () => jobs.refresh() }) }, "Models…"),
      h("button", { type: "button", id: "settings", disabled: true, dataset: { needs: "owner", loaded: "" }, onclick: settings }, "Settings"),
      h("button", { type: "button", id: "export", dataset: { needs: "editor" }, onclick: () => exportDialog(projectId, project, [...gallery.selected]) }, "Export…"),
    ),
    uploads.element,
    jobs.element,
    h(
      "div",
      { class: "toolbar" },
      counts,
      h("label", {}, "Show ", filter),
      h("button", { type: "button", onclick: () => gallery.selectAllShown(true) }, "Select shown"),
      h("button", { type: "button", onclick: () => gallery.selectAllShown(false) }, "Clear selection"),
      selection,
      h("label", { for: "force", dataset: { needs: "editor" } }, force, " re-run segmented"),
      h("button", { type: "button", id: "delete-selected", class: "danger", dataset: { needs: "editor" }, onclick: removeSelected }, "Delete selected"),
      h("button", { type: "button", id: "segment-selected", dataset: { needs: "editor" }, onclick: () => segment(true) }, "Segment selected"),
      h("button", { type: "button", id: "segment-all", class: "primary", dataset: { needs: "editor" }, onclick: () => segment(false) }, "Segment all"),
    ),
    gallery.element,
  );

  api.project(projectId).then(
    (p) => {
      project = p;
      applyRole(p.role);
      title.textContent = p.name;
      document.title = `${p.name} · Cell Segmentation Hub`;
    },
    (error) => notify(plainMessage(error), "error"),
  );
  const started = performance.now();
  loadAllImages(projectId, (first) => {
    gallery.setImages(first.slice());
    requestAnimationFrame(() => {
      window.galleryFirstPaintMs = performance.now() - started;
    });
  }).then((all) => {
    gallery.setImages(all);
    window.galleryLoadedMs = performance.now() - started;
  }, (error) => notify(plainMessage(error), "error"));

  const stopLive = followProject(projectId, { onEvent, onResync: resync, onState: (s) => (liveState.textContent = s) });
  return () => {
    stopLive();
    jobs.destroy();
    uploads.destroy();
    gallery.destroy();
    clearTimeout(resyncTimer);
  };
}
