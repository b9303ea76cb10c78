// Migration: a plan from a snapshot and a residency constraint, then a run that copies the
// objects into gateway buckets. The source credentials are asked for at the moment the run
// starts, sent once, and cleared; the page never keeps them.

import { apiPath } from "./api.js";
import { $, clear, el, showError } from "./dom.js";
import { follower } from "./follow.js";
import { formatBytes, formatCount, formatDuration } from "./format.js";

function money(value) {
  return value == null ? "unknown" : Number(value).toFixed(2);
}

// A plan as docs/migration-plan.schema.json describes it (plan_version 1): metadata, placed
// buckets, unplaceable ones with the reason, usage per zone and country, totals.
function renderPlan(plan) {
  const meta = plan.plan;
  const t = plan.totals;
  $("plan").hidden = false;
  $("plan").dataset.plan = meta.id;
  $("plan-id").textContent = meta.id;
  const stat = (term, value) => el("div", {}, el("dt", {}, term), el("dd", {}, value));
  clear($("plan-totals")).append(
    stat("Constraint", `${meta.options.constraint}, ${meta.options.replicas} cop${meta.options.replicas === 1 ? "y" : "ies"}`),
    stat("Buckets to copy", `${formatCount(t.buckets)}${t.unplaceable_buckets ? ` (${t.unplaceable_buckets} cannot be placed)` : ""}`),
    stat("Objects", formatCount(t.objects)),
    stat("Bytes", `${formatBytes(t.bytes)} (${formatBytes(t.stored_bytes)} stored)`),
    stat("Estimated time", `${formatDuration(t.transfer_seconds)} at ${meta.bandwidth_mbps} Mbit/s`),
    stat("Estimated cost / month", t.monthly_cost == null ? "unknown (no zone has a price)"
      : `${money(t.monthly_cost)}${t.monthly_cost_complete ? "" : " (zones without a price not counted)"}`),
  );

  clear($("plan-buckets")).append(...plan.buckets.map((b) => el("tr", { "data-bucket": b.source_bucket },
    el("th", { scope: "row" }, b.source_bucket),
    el("td", {}, b.target_bucket + (b.target_exists ? " (exists)" : "")),
    el("td", {}, b.zones.join(", ")),
    el("td", { class: "num" }, formatCount(b.objects)),
    el("td", { class: "num" }, formatBytes(b.bytes)),
    el("td", { class: "notes" }, b.notes.length ? el("ul", {}, b.notes.map((n) => el("li", {}, n))) : "—"))));

  clear($("plan-countries")).append(...plan.countries.map((c) => el("tr", {},
    el("th", { scope: "row" }, c.country),
    el("td", { class: "num" }, formatCount(c.objects)),
    el("td", { class: "num" }, formatBytes(c.bytes)))));

  clear($("plan-zones")).append(...plan.zones.map((z) => el("tr", {},
    el("th", { scope: "row" }, `${z.zone} (${z.country})`),
    el("td", { class: "num" }, formatCount(z.objects)),
    el("td", { class: "num" }, formatBytes(z.bytes)),
    el("td", { class: "num" }, money(z.monthly_cost)))));

  $("plan-unplaceable-wrap").hidden = plan.unplaceable.length === 0;
  clear($("plan-unplaceable")).append(...plan.unplaceable.map((u) => el("li", { "data-bucket": u.source_bucket },
    el("strong", {}, u.source_bucket), ` (${u.reason}): ${u.message}`)));

  $("plan-json").textContent = JSON.stringify(plan, null, 2);
  $("run-open").disabled = plan.buckets.length === 0;
}

// The report's first line: how the run ended, in words that match its state (docs/web-api.yaml,
// Run): `failed` copied nothing; `done` may still have failed buckets, which are said first.
function runSummary(run, failed, buckets) {
  const of = `${formatCount(failed)} of ${formatCount(buckets)} bucket${buckets === 1 ? "" : "s"}`;
  const skipped = run.skipped || [];
  const counts = `${formatCount(run.objects_copied ?? run.objects_done)} objects ` +
    `(${formatBytes(run.bytes_copied ?? run.bytes_done)}) copied, ${formatCount(run.objects_present ?? 0)} ` +
    `already there, ${formatCount(run.objects_skipped ?? skipped.length)} skipped` +
    (run.skipped_truncated ? ` (the first ${formatCount(skipped.length)} listed below).` : ".");
  if (run.state === "failed") {
    return "Failed — nothing was copied: " + (failed > 0 && failed === buckets
      ? `every bucket failed (each one's reason is in the table above).`
      : `${run.error || "see the error above"}.`);
  }
  const failures = failed > 0 ? `${of} failed (the reasons are in the table above)` : "";
  if (run.state === "done") return failed > 0 ? `Done, but ${failures}. ${counts}` : `Done: ${counts}`;
  return `Stopped (${run.state})${failed > 0 ? `, ${failures}` : ""}: ${counts}`;
}

// A run as docs/MIGRATION.md's "Run document" describes it.
function renderRun(run) {
  const active = run.state === "running";
  const buckets = run.buckets || [];
  const failed = run.failed_buckets ?? buckets.filter((b) => b.state === "failed").length;
  $("run").hidden = false;
  $("run").dataset.state = run.state;
  $("run").dataset.failedBuckets = failed;
  $("run-id").textContent = run.id;
  $("run-state").textContent = run.state;
  $("run-state").className = `run-state-${run.state}`;
  const total = run.bytes_total || 0;
  const bar = $("run-progress");
  if (total > 0) {
    bar.max = total;
    bar.value = Math.min(run.bytes_done || 0, total);
  } else if (active) {
    bar.removeAttribute("value");
  } else {
    bar.max = 1;
    bar.value = run.state === "done" ? 1 : 0;
  }
  $("run-progress-label").textContent = (total > 0
    ? `${formatBytes(run.bytes_done)} of ${formatBytes(total)} (${Math.round((100 * (run.bytes_done || 0)) / total)} %)`
    : "") + (active && run.current_bucket ? ` — copying ${run.current_bucket}` : "");
  $("run-objects").textContent = `${formatCount(run.objects_done)} / ${formatCount(run.objects_total)}`;
  $("run-bytes").textContent = `${formatBytes(run.bytes_done)} / ${formatBytes(run.bytes_total)}`;
  $("run-rate").textContent = run.rate_bytes_per_second != null ? `${formatBytes(run.rate_bytes_per_second)}/s` : "—";
  $("run-eta").textContent = active ? formatDuration(run.eta_seconds) : "—";
  $("run-skipped-count").textContent = formatCount(run.objects_skipped ?? (run.skipped || []).length);
  $("run-failed").textContent = `${formatCount(failed)} of ${formatCount(buckets.length)}`;
  $("run-failed").classList.toggle("bad", failed > 0);
  $("run-cancel").hidden = !active;
  showError($("run-error"), run.error ? new Error(`The run ${run.state}: ${run.error}`) : null);

  clear($("run-buckets")).append(...buckets.map((b) => el("tr",
    { "data-bucket": b.source_bucket, class: b.state === "failed" ? "failed" : null },
    el("th", { scope: "row" }, b.source_bucket),
    el("td", {}, b.target_bucket),
    el("td", { class: `run-state-${b.state}` }, b.state),
    el("td", { class: "num" }, formatCount(b.objects_copied)),
    el("td", { class: "num" }, formatCount(b.objects_present)),
    el("td", { class: "num" }, formatCount(b.objects_skipped)),
    el("td", {}, b.error || ""))));

  $("run-report").hidden = active;
  if (!active) {
    const skipped = run.skipped || [];
    $("run-summary").classList.toggle("error", run.state === "failed" || failed > 0);
    $("run-summary").textContent = runSummary(run, failed, buckets.length);
    $("run-skipped-table").hidden = skipped.length === 0;
    clear($("run-skipped")).append(...skipped.map((x) => el("tr", {},
      el("td", {}, x.bucket), el("td", {}, el("code", {}, x.key)), el("td", {}, x.reason))));
  }
}

export function initMigration(gateway) {
  let plan = null;

  $("plan-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showError($("plan-error"), null);
    const body = {
      snapshot_id: $("plan-snapshot").value,
      constraint: $("plan-constraint").value.trim(),
      replicas: Number($("plan-replicas").value) || 1,
      bucket_prefix: $("plan-prefix").value.trim(),
    };
    try {
      plan = await gateway.call("POST", apiPath("migration", "plans"), { body });
      renderPlan(plan);
    } catch (e) {
      showError($("plan-error"), e);
    }
  });

  const dialog = $("run-dialog");
  const clearSecrets = () => {
    $("run-secret-key").value = "";
    $("run-session-token").value = "";
  };
  $("run-open").addEventListener("click", () => dialog.showModal());
  $("run-dismiss").addEventListener("click", () => {
    clearSecrets();
    dialog.close();
  });
  dialog.addEventListener("close", clearSecrets);

  const following = follower({
    load: (id) => gateway.call("GET", apiPath("migration", "runs", id)),
    show: renderRun,
    failed: (e) => showError($("run-error"), e),
  });

  $("run-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      plan_id: plan?.plan.id,
      access_key_id: $("run-access-key").value.trim(),
      secret_access_key: $("run-secret-key").value,
      session_token: $("run-session-token").value.trim(),
      read_through: $("run-read-through").checked,
    };
    if (!body.session_token) delete body.session_token;
    clearSecrets();
    dialog.close();
    showError($("run-error"), null);
    try {
      following.follow(await gateway.call("POST", apiPath("migration", "runs"), { body }));
    } catch (e) {
      showError($("run-error"), e);
    } finally {
      body.secret_access_key = "";
      body.session_token = "";
    }
  });

  $("run-cancel").addEventListener("click", async () => {
    const id = following.id;
    if (!id) return;
    try {
      const cancelled = await gateway.call("POST", apiPath("migration", "runs", id, "cancel"));
      if (following.id === id) following.follow(cancelled);
    } catch (e) {
      showError($("run-error"), e);
    }
  });

  return {
    // After connecting: a run still going in the gateway is followed again.
    async resume() {
      if (following.id) return;
      const { runs = [] } = await gateway.call("GET", apiPath("migration", "runs"));
      const running = runs.find((r) => r.state === "running");
      if (running && !following.id) following.follow(running);
    },
    // Forget: no plan, no run (it goes on in the gateway) and no snapshot to choose are shown
    // any more, and this page stops asking about the run.
    reset() {
      following.stop();
      plan = null;
      dialog.close();
      $("plan").hidden = true;
      delete $("plan").dataset.plan;
      $("plan-id").textContent = "";
      for (const id of ["plan-totals", "plan-buckets", "plan-countries", "plan-zones", "plan-unplaceable"]) clear($(id));
      $("plan-json").textContent = "";
      $("run").hidden = true;
      delete $("run").dataset.state;
      for (const id of ["run-buckets", "run-skipped"]) clear($(id));
      for (const id of ["plan-error", "run-error"]) showError($(id), null);
      clear($("plan-snapshot"));
    },
    // The plan form's snapshot choice follows the snapshot list.
    setSnapshots(list) {
      const select = $("plan-snapshot");
      const chosen = select.value;
      clear(select).append(...list.map((s) =>
        el("option", { value: s.id }, `${s.id} — ${s.endpoint_host ?? "?"}, ${formatCount(s.buckets)} buckets`)));
      if (list.some((s) => s.id === chosen)) select.value = chosen;
    },
  };
}
