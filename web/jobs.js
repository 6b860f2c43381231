// The project's active jobs (segmentation, fine-tuning, model checks): counts, a progress
// bar and a cancel button each.
// Read from REST (`GET /projects/{id}/jobs`) when asked, then every 2 s while any is active.

import { api, plainMessage } from "./api.js";
import { h, notify } from "./ui.js";

const POLL_MS = 2000;

export function jobsPanel(projectId, { canCancel = () => true, onCancelled = () => {} } = {}) {
  const element = h("section", { class: "jobs", "aria-label": "Active jobs", "aria-live": "polite" });
  let timer = null;
  let stopped = false;
  let loading = null;

  function title(job) {
    if (job.kind === "finetune") return `Fine-tuning ${job.options?.name || "a model"} from ${job.model}`;
    if (job.kind === "import_model") return `Checking imported model ${job.model}`;
    return `Segmentation with ${job.model}`;
  }

  function row(job) {
    const { total, done, failed } = job.counts;
    const what = job.kind && job.kind !== "segment" ? "step(s)" : "image(s)";
    const cancel = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Cancel ${job.kind === "segment" || !job.kind ? "segmentation" : "model"} job ${job.id}`,
        onclick: async () => {
          cancel.disabled = true;
          try {
            const after = await api.cancelJob(projectId, job.id);
            const kind = what === "image(s)" ? "Segmentation" : "Model job";
            notify(`${kind} cancelled; ${after.counts.done} of ${after.counts.total} ${what} had finished.`);
            onCancelled();
          } catch (error) {
            notify(plainMessage(error), "error");
          }
          refresh();
        },
      },
      "Cancel",
    );
    return h(
      "div",
      { class: "job-row", dataset: { job: job.id, state: job.state } },
      h("strong", {}, title(job)),
      h("progress", { max: String(Math.max(total, 1)), value: String(done + failed), "aria-label": "Job progress" }),
      h("span", { class: "job-counts" }, `${done} of ${total} ${what} done${failed ? ` · ${failed} failed` : ""} · ${job.state}`),
      canCancel() ? cancel : null,
    );
  }

  async function load() {
    clearTimeout(timer);
    timer = null;
    try {
      const jobs = (await api.activeJobs(projectId)).filter((job) => !job.counts.finished);
      if (stopped) return;
      element.replaceChildren(...jobs.map(row));
      if (jobs.length) timer = setTimeout(refresh, POLL_MS);
    } catch {
      if (!stopped) timer = setTimeout(refresh, POLL_MS * 2);
    }
  }

  // One read at a time; a call during a read is answered by that read.
  function refresh() {
    loading ||= load().finally(() => (loading = null));
    return loading;
  }

  refresh();
  return {
    element,
    refresh,
    destroy() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
