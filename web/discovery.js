// The discovery form and the running job: POST the job, then follow its progress (follow.js)
// until it is no longer running. The pasted secret and session token are read once,
// sent, and cleared from the form and from every variable here.

import { apiPath } from "./api.js";
import { $, showError } from "./dom.js";
import { follower } from "./follow.js";
import { formatBytes, formatCount } from "./format.js";

export function initDiscovery(gateway, { finished }) {
  function showJob(job) {
    $("job").hidden = false;
    $("job").dataset.state = job.state;
    $("job-id").textContent = job.id;
    $("job-state").textContent = job.state;
    const total = job.buckets_total || 0;
    const done = job.buckets_done || 0;
    const bar = $("job-progress");
    if (total > 0) {
      bar.max = total;
      bar.value = done;
    } else if (job.state === "running") {
      bar.removeAttribute("value"); // indeterminate until the bucket list is known
    } else {
      bar.max = 1;
      bar.value = job.state === "done" ? 1 : 0;
    }
    $("job-progress-label").textContent = total > 0
      ? `${done} of ${total} buckets (${Math.round((100 * done) / total)} %)`
      : job.state === "running" ? "listing buckets…" : "";
    $("job-buckets").textContent = `${formatCount(done)} / ${formatCount(total)}`;
    $("job-objects").textContent = formatCount(job.objects);
    $("job-bytes").textContent = formatBytes(job.bytes);
    $("job-current").textContent = job.state === "running" && job.current_bucket ? job.current_bucket : "—";
    $("job-cancel").hidden = job.state !== "running";
    showError($("job-error"), job.error ? new Error(`The discovery ${job.state}: ${job.error}`) : null);
  }

  const following = follower({
    load: (id) => gateway.call("GET", apiPath("discovery", "jobs", id)),
    show: showJob,
    failed: (e) => showError($("job-error"), e),
    ended: finished,
  });

  $("discovery-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const secretField = $("src-secret-key");
    const tokenField = $("src-session-token");
    const body = {
      endpoint: $("src-endpoint").value.trim() || "https://s3.amazonaws.com",
      region: $("src-region").value.trim() || "us-east-1",
      access_key_id: $("src-access-key").value.trim(),
      secret_access_key: secretField.value,
      session_token: tokenField.value.trim(),
      sanitization: $("src-sanitization").value,
      prefix_depth: Number($("src-prefix-depth").value) || 2,
    };
    if (!body.session_token) delete body.session_token;
    // Gone from the page before the request even leaves: only `body` holds them, and only
    // until the call returns.
    secretField.value = "";
    tokenField.value = "";
    showError($("discovery-error"), null);
    $("discover").disabled = true;
    try {
      following.follow(await gateway.call("POST", apiPath("discovery", "jobs"), { body }));
    } catch (e) {
      showError($("discovery-error"), e);
    } finally {
      body.secret_access_key = "";
      body.session_token = "";
      $("discover").disabled = false;
    }
  });

  $("job-cancel").addEventListener("click", async () => {
    const id = following.id;
    if (!id) return;
    try {
      const cancelled = await gateway.call("POST", apiPath("discovery", "jobs", id, "cancel"));
      if (following.id === id) following.follow(cancelled);
    } catch (e) {
      showError($("job-error"), e);
    }
  });

  // After connecting: a job still running (started before a reload, or in another tab) is
  // followed again — it runs in the gateway, not in this page.
  async function resume() {
    if (following.id) return;
    const { jobs = [] } = await gateway.call("GET", apiPath("discovery", "jobs"));
    const running = jobs.find((j) => j.state === "running");
    if (running && !following.id) following.follow(running);
  }

  // Forget: the job runs on in the gateway, but this page stops asking about it and shows it no more.
  function reset() {
    following.stop();
    $("job").hidden = true;
    showError($("job-error"), null);
    showError($("discovery-error"), null);
  }

  return { resume, reset };
}
