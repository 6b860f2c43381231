// The project list: search, create, open, rename, delete, and each project's settings.

import { api, plainMessage } from "./api.js";
import { confirmDanger, field, formDialog, h, notify } from "./ui.js";

let modelsCache = null;

async function modelNames() {
  modelsCache ||= api.models().then((r) => r.models.map((m) => m.name)).catch(() => ["classical"]);
  return modelsCache;
}

const SAMPLES = [
  ["nuclei", "Nuclei (fluorescence)"],
  ["cells", "Cells"],
  ["spheroids", "Spheroids"],
  ["organoids", "Organoids"],
  ["other", "Other"],
];
// The model option that lets the hub pick the best model for the sample type.
const BY_SAMPLE = "";

// The settings form (name, pixel size, default model, threshold, object classes; for a new
// project also its sample type); resolves with the POST or PATCH body.
export async function editProjectDialog(project, title = "Project settings") {
  const names = await modelNames();
  const settings = project ? project.settings : { default_model: BY_SAMPLE, threshold: 0.5, pixel_size_um: null, classes: [] };
  const models = names.includes(settings.default_model) || !project ? names : [settings.default_model, ...names];
  const modelOptions = models.map((m) => h("option", { value: m, selected: m === settings.default_model }, m));
  if (!project) modelOptions.unshift(h("option", { value: BY_SAMPLE, selected: true }, "Best model for this sample"));
  const data = await formDialog(
    title,
    [
      field("Name", h("input", { name: "name", required: true, maxlength: "200", value: project ? project.name : "" })),
      project
        ? null
        : field(
            "Sample type",
            h("select", { name: "sample" }, SAMPLES.map(([value, label]) => h("option", { value }, label))),
            "Picks the default model and object class unless you choose them below.",
          ),
      field(
        "Pixel size (µm per pixel)",
        h("input", { name: "pixel_size_um", type: "number", step: "any", min: "0", value: settings.pixel_size_um ?? "" }),
        "Leave empty to measure in pixels.",
      ),
      field(
        "Default model",
        h("select", { name: "default_model" }, modelOptions),
      ),
      field(
        "Threshold",
        h("input", { name: "threshold", type: "number", step: "0.01", min: "0.01", max: "0.99", required: true, value: settings.threshold }),
        "Probability above which a pixel counts as object (0–1).",
      ),
      field(
        "Object classes",
        h("input", { name: "classes", required: Boolean(project), placeholder: project ? "" : "from the sample type", value: (settings.classes || []).join(", ") }),
        "Comma-separated, e.g. nucleus, cytoplasm. The editor offers them for each polygon.",
      ),
    ].filter(Boolean),
    project ? "Save" : "Create",
  );
  if (!data) return null;
  const pixel = data.get("pixel_size_um");
  const classes = [...new Set(data.get("classes").split(",").map((c) => c.trim()).filter(Boolean))];
  const body = {
    name: data.get("name").trim(),
    settings: { threshold: Number(data.get("threshold")), pixel_size_um: pixel === "" ? null : Number(pixel) },
  };
  // A new project leaves unchosen settings to its sample type.
  if (data.get("default_model") !== BY_SAMPLE) body.settings.default_model = data.get("default_model");
  if (classes.length) body.settings.classes = classes;
  if (!project) body.sample = data.get("sample");
  return body;
}

export function showProjects(main) {
  const list = h("ul", { class: "project-list", "aria-label": "Projects" });
  const search = h("input", { type: "search", name: "search", placeholder: "Search projects", "aria-label": "Search projects" });
  const more = h("button", { type: "button", hidden: true, onclick: () => load(cursor) }, "Show more projects");
  let timer = null;
  let generation = 0;
  let cursor = null;

  // The first page (or, with `after`, the next one appended).
  async function load(after = null) {
    const mine = ++generation;
    list.setAttribute("aria-busy", "true");
    try {
      const page = await api.projects(search.value.trim() || undefined, after || undefined);
      if (mine !== generation) return;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (after) list.append(...page.items.map(row));
      else list.replaceChildren(...(page.items.length ? page.items.map(row) : [h("li", { class: "empty" }, "No projects found.")]));
    } catch (error) {
      notify(plainMessage(error), "error");
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function row(project) {
    const owner = project.role === "owner";
    const px = project.settings.pixel_size_um;
    return h(
      "li",
      { class: "project-row", dataset: { id: project.id } },
      h("a", { href: `#/projects/${project.id}`, class: "project-name" }, project.name),
      h("span", { class: "muted" }, `${project.role} · ${project.settings.default_model} · ${px ? px + " µm/px" : "pixels"}`),
      owner ? h("button", { type: "button", onclick: () => rename(project) }, "Rename / settings") : null,
      owner ? h("button", { type: "button", class: "danger", onclick: () => remove(project) }, "Delete") : null,
    );
  }

  async function create() {
    const body = await editProjectDialog(null, "New project");
    if (!body) return;
    try {
      const project = await api.createProject(body.name, body.settings, body.sample);
      location.hash = `#/projects/${project.id}`;
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  async function rename(project) {
    const body = await editProjectDialog(project);
    if (!body) return;
    try {
      await api.updateProject(project.id, body);
      notify("Project saved.");
      load();
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  async function remove(project) {
    const sure = await confirmDanger(
      "Delete project?",
      `“${project.name}” and all of its images, segmentations and exports will be deleted. This cannot be undone.`,
    );
    if (!sure) return;
    try {
      await api.deleteProject(project.id);
      notify("Project deleted.");
      load();
    } catch (error) {
      notify(plainMessage(error), "error");
    }
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(), 250);
  });
  main.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Projects"), search, h("button", { type: "button", class: "primary", onclick: create }, "New project")),
    list,
    more,
  );
  load();
  return () => clearTimeout(timer);
}
