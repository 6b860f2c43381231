// The project's active segmentation jobs: counts, a progress bar and a cancel button each.
// Read from REST (`GET /projects/{id}/jobs`) when asked, then every 2 s while any is active.

import { api, plainMessage } from "./api.js";
import { h, notify } from "./ui.js";

const POLL_MS = 2000;

export function jobsPanel(projectId, { canCancel = () => true, onCancelled = () => {} } = {}) {
  const element = h("section", { class: "jobs", "aria-label": "Active segmentation jobs", "aria-live": "polite" });
  let timer = null;
  let stopped = false;
  let loading = null;

  function row(job) {
    const { total, done, failed } = job.counts;
    const cancel = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Cancel segmentation job ${job.id}`,
        onclick: async () => {
          cancel.disabled = true;
          try {
            const after = await api.cancelJob(projectId, job.id);
            notify(`Segmentation cancelled; ${after.counts.done} of ${after.counts.total} image(s) had finished.`);
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
      h("strong", {}, `Segmentation with ${job.model}`),
      h("progress", { max: String(Math.max(total, 1)), value: String(done + failed), "aria-label": "Job progress" }),
      h("span", { class: "job-counts" }, `${done} of ${total} done${failed ? ` · ${failed} failed` : ""} · ${job.state}`),
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
