// A project's models: the global catalogue and the project's own (fine-tuned or imported),
// with their held-out scores; editors start fine-tuning, import a model file and delete a
// project model. A job's report is shown when its `model_job.finished` event arrives.

import { api, plainMessage } from "./api.js";
import { confirmDanger, dialog, field, formatBytes, formDialog, h, notify } from "./ui.js";

const FORMATS = [
  ["torchscript", "TorchScript (.pt / .ts)"],
  ["onnx", "ONNX (.onnx)"],
  ["checkpoint", "Cell Segmentation Hub checkpoint (.pt)"],
];

function score(value) {
  return value === undefined || value === null ? "–" : Number(value).toFixed(3);
}

// Opens the dialog for `project` (as the API returned it, with the caller's role).
export function modelsDialog(project, { onJobStarted = () => {} } = {}) {
  const editor = project.role !== "viewer";
  const body = h("tbody");
  const error = h("p", { class: "form-error", role: "alert" });
  const box = h("dialog", { class: "modal models", "aria-labelledby": "models-title" });
  let models = [];
  const close = () => {
    box.close();
    box.remove();
  };

  function row(model) {
    const own = model.scope === "project";
    const remove = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Delete model ${model.name}`,
        onclick: async () => {
          if (!(await confirmDanger(`Delete model ${model.name}?`, "Jobs that name it afterwards fail as an unknown model."))) return;
          run(() => api.deleteProjectModel(project.id, model.name), "Model deleted.");
        },
      },
      "Delete",
    );
    const origin = own ? `${model.kind}${model.base_model ? ` from ${model.base_model}` : ""}` : model.kind;
    return h(
      "tr",
      { dataset: { model: model.name, scope: model.scope } },
      h("td", {}, h("strong", {}, model.name), model.name === project.settings.default_model ? " (default)" : ""),
      h("td", {}, origin),
      h("td", {}, score(model.scores.ap50)),
      h("td", {}, score(model.scores.fg_iou)),
      h("td", { class: "muted" }, model.description || model.speed || ""),
      h("td", {}, own && editor ? remove : null),
    );
  }

  async function refresh() {
    models = (await api.projectModels(project.id)).models;
    body.replaceChildren(...models.map(row));
  }

  async function run(action, done) {
    error.textContent = "";
    try {
      await action();
      if (done) notify(done);
      await refresh();
    } catch (problem) {
      error.textContent = plainMessage(problem);
    }
  }

  async function finetune() {
    const learned = models.filter((m) => m.kind !== "classical" && (m.scope === "global" || m.format === "checkpoint"));
    const start = learned.some((m) => m.name === project.settings.default_model) ? project.settings.default_model : learned[0]?.name;
    const data = await formDialog(
      "Fine-tune a model on this project",
      [
        field("Start from", h("select", { name: "base_model" }, learned.map((m) => h("option", { value: m.name, selected: m.name === start }, m.name)))),
        field("New model name", h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9._\\-]{0,47}", value: `${project.name}-${start || "model"}`.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").slice(0, 48) }), "Lower-case letters, digits, '.', '_' and '-'."),
        field("Epochs", h("input", { name: "epochs", type: "number", min: "1", max: "200", value: "20", required: true })),
        field("Held-out share of images", h("input", { name: "holdout_fraction", type: "number", step: "0.05", min: "0.05", max: "0.9", value: "0.2", required: true }), "Scored before and after; the model is kept only if it gets better there."),
      ],
      "Start",
    );
    if (!data) return;
    const job = await api.finetune(project.id, {
      base_model: data.get("base_model"),
      name: data.get("name"),
      epochs: Number(data.get("epochs")),
      holdout_fraction: Number(data.get("holdout_fraction")),
    });
    notify(`Fine-tuning ${data.get("name")} from ${data.get("base_model")} started.`);
    onJobStarted(job);
  }

  async function importModel() {
    const data = await formDialog(
      "Import a model",
      [
        field("Model file", h("input", { name: "file", type: "file", required: true, accept: ".pt,.ts,.onnx,.pth" })),
        field("Format", h("select", { name: "format" }, FORMATS.map(([value, label]) => h("option", { value }, label)))),
        field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9._\\-]{0,47}" })),
        field("Object classes", h("input", { name: "classes", placeholder: "e.g. nucleus" }), "Input: float32 (N, C, H, W) in [0, 1]; output: (N, K, H, W), channel 0 foreground, 1 boundary (optional)."),
      ],
      "Upload and check",
    );
    if (!data) return;
    const file = data.get("file");
    const target = await api.planModelUpload(project.id, { filename: file.name, size: file.size });
    const form = new FormData();
    for (const [key, value] of Object.entries(target.post.fields)) form.append(key, value);
    form.append("file", file);
    notify(`Uploading ${file.name} (${formatBytes(file.size)})…`);
    const stored = await fetch(target.post.url, { method: "POST", body: form });
    if (!stored.ok) throw new Error(`the storage answered ${stored.status}`);
    const classes = (data.get("classes") || "").split(",").map((c) => c.trim()).filter(Boolean);
    const job = await api.importModel(project.id, {
      name: data.get("name"),
      format: data.get("format"),
      upload_id: target.upload_id,
      ...(classes.length ? { classes } : {}),
    });
    notify(`Checking ${data.get("name")} on a sample image…`);
    onJobStarted(job);
  }

  box.append(
    h("h2", { id: "models-title" }, "Models"),
    h(
      "table",
      { class: "models-table" },
      h("thead", {}, h("tr", {}, ["Model", "Origin", "AP@0.5", "Foreground IoU", "Notes", ""].map((t) => h("th", {}, t)))),
      body,
    ),
    error,
    h(
      "div",
      { class: "actions" },
      editor ? h("button", { type: "button", onclick: () => run(finetune) }, "Fine-tune…") : null,
      editor ? h("button", { type: "button", onclick: () => run(importModel) }, "Import…") : null,
      h("button", { type: "button", class: "primary", onclick: close }, "Close"),
    ),
  );
  box.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  document.body.append(box);
  box.showModal();
  run(refresh);
}

// What a finished fine-tuning or import job found, from its `model_job.finished` event.
export async function showModelReport(projectId, event) {
  let report;
  try {
    report = await api.modelJobReport(projectId, event.job_id);
  } catch (error) {
    return notify(plainMessage(error), "error");
  }
  const verb = report.kind === "finetune" ? "Fine-tuning" : "Import";
  const lines = [h("p", {}, report.accepted ? `${verb} of ${report.model} succeeded: the model is now offered in this project.` : `${verb} of ${report.model} did not register a model: ${report.reason}`)];
  const results = report.results || {};
  const before = results.start_scores;
  const after = results.new_scores;
  if (before && after) {
    lines.push(h("p", {}, `Held-out AP@0.5: ${score(before.ap50)} → ${score(after.ap50)}; foreground IoU ${score(before.fg_iou)} → ${score(after.fg_iou)}.`));
  }
  lines.push(h("pre", { class: "report" }, JSON.stringify(results, null, 2)));
  await dialog(`${verb}: ${report.model}`, lines, [["Close", "close", "primary"]]);
}
