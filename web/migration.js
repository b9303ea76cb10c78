// Migration: a plan from a snapshot and a residency constraint, then a run that copies the
// objects into gateway buckets. The source credentials are asked for at the moment the run
// starts, sent once, and cleared; the page never keeps them.

import { apiPath } from "./api.js";
import { $, clear, el, showError } from "./dom.js";
import { formatBytes, formatCount, formatDuration } from "./format.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["running", "queued", "pending", "starting"]);

// The first of `names` that `obj` has.
function pick(obj, ...names) {
  for (const n of names) if (obj && obj[n] != null) return obj[n];
  return undefined;
}

// Rows from either a list of objects or a map keyed by name.
function rows(value, keyName) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => ({ [keyName]: k, ...v }));
  return [];
}

function zoneNames(zones) {
  return (zones || []).map((z) => (typeof z === "string" ? z : pick(z, "zone", "name") ?? JSON.stringify(z))).join(", ");
}

function money(value, currency) {
  if (value == null) return "—";
  return `${Number(value).toFixed(2)}${currency ? " " + currency : ""}`;
}

function renderPlan(plan) {
  $("plan").hidden = false;
  $("plan").dataset.plan = plan.id;
  $("plan-id").textContent = plan.id;
  const estimate = plan.estimate || plan.estimates || {};
  const currency = pick(estimate, "currency") ?? pick(plan, "currency");
  const placed = rows(pick(plan, "buckets", "placements"), "source_bucket");
  const totals = plan.totals || {};
  const objects = pick(totals, "objects") ?? placed.reduce((n, b) => n + (pick(b, "objects", "object_count") || 0), 0);
  const bytes = pick(totals, "bytes") ?? placed.reduce((n, b) => n + (pick(b, "bytes", "total_bytes") || 0), 0);
  const seconds = pick(estimate, "seconds", "transfer_seconds", "duration_seconds", "time_seconds");
  const cost = pick(estimate, "monthly_cost", "cost_per_month", "monthly_cost_total");
  const bandwidth = pick(estimate, "bandwidth_bytes_per_second", "bandwidth");
  const stat = (term, value) => el("div", {}, el("dt", {}, term), el("dd", {}, value));
  clear($("plan-totals")).append(
    stat("Constraint", `${pick(plan, "constraint") ?? "—"}, ${pick(plan, "replicas") ?? 1} replica(s)`),
    stat("Buckets placed", formatCount(placed.length)),
    stat("Objects", formatCount(objects)),
    stat("Bytes", formatBytes(bytes)),
    stat("Estimated time", seconds != null
      ? `${formatDuration(seconds)}${bandwidth ? ` at ${formatBytes(bandwidth)}/s` : ""}` : "—"),
    stat("Estimated cost / month", money(cost, currency)),
  );

  clear($("plan-buckets")).append(...placed.map((b) => el("tr", {},
    el("th", { scope: "row" }, pick(b, "source_bucket", "source", "bucket") ?? "?"),
    el("td", {}, pick(b, "target_bucket", "target") ?? "—"),
    el("td", {}, zoneNames(pick(b, "zones", "target_zones"))),
    el("td", { class: "num" }, formatCount(pick(b, "objects", "object_count"))),
    el("td", { class: "num" }, formatBytes(pick(b, "bytes", "total_bytes"))))));

  const countries = rows(pick(plan, "countries", "per_country", "by_country"), "country");
  clear($("plan-countries")).append(...countries.map((c) => el("tr", {},
    el("th", { scope: "row" }, pick(c, "country", "name") ?? "?"),
    el("td", { class: "num" }, formatCount(pick(c, "objects"))),
    el("td", { class: "num" }, formatBytes(pick(c, "bytes"))))));

  const zones = rows(pick(plan, "zones", "per_zone", "by_zone"), "zone");
  clear($("plan-zones")).append(...zones.map((z) => el("tr", {},
    el("th", { scope: "row" }, `${pick(z, "zone", "name") ?? "?"}${z.country ? ` (${z.country})` : ""}`),
    el("td", { class: "num" }, formatCount(pick(z, "objects"))),
    el("td", { class: "num" }, formatBytes(pick(z, "bytes"))),
    el("td", { class: "num" }, money(pick(z, "monthly_cost", "cost_per_month"), currency)))));

  const unplaceable = rows(pick(plan, "unplaceable", "unplaced"), "bucket");
  $("plan-unplaceable-wrap").hidden = unplaceable.length === 0;
  clear($("plan-unplaceable")).append(...unplaceable.map((u) =>
    el("li", {}, el("strong", {}, pick(u, "bucket", "source_bucket", "name") ?? "?"), `: ${pick(u, "reason") ?? "?"}`)));

  $("plan-json").textContent = JSON.stringify(plan, null, 2);
  $("run-open").disabled = placed.length === 0;
}

function renderRun(run) {
  $("run").hidden = false;
  $("run").dataset.state = run.state;
  $("run-id").textContent = run.id;
  $("run-state").textContent = run.state;
  const total = run.bytes_total || 0;
  const bar = $("run-progress");
  if (total > 0) {
    bar.max = total;
    bar.value = run.bytes_done || 0;
  } else if (ACTIVE.has(run.state)) {
    bar.removeAttribute("value");
  } else {
    bar.max = 1;
    bar.value = run.state === "done" ? 1 : 0;
  }
  $("run-progress-label").textContent = total > 0
    ? `${formatBytes(run.bytes_done)} of ${formatBytes(total)} (${Math.round((100 * (run.bytes_done || 0)) / total)} %)` : "";
  $("run-objects").textContent = `${formatCount(run.objects_done)} / ${formatCount(run.objects_total)}`;
  $("run-bytes").textContent = `${formatBytes(run.bytes_done)} / ${formatBytes(run.bytes_total)}`;
  $("run-rate").textContent = run.rate_bytes_per_second != null ? `${formatBytes(run.rate_bytes_per_second)}/s` : "—";
  $("run-eta").textContent = ACTIVE.has(run.state) ? formatDuration(run.eta_seconds) : "—";
  $("run-skipped-count").textContent = formatCount(run.objects_skipped ?? (run.skipped || []).length);
  $("run-cancel").hidden = !ACTIVE.has(run.state);
  showError($("run-error"), run.error ? new Error(`The run ${run.state}: ${run.error}`) : null);
  if (!ACTIVE.has(run.state)) {
    $("run-report").hidden = false;
    const skipped = run.skipped || [];
    $("run-summary").textContent = `${run.state === "done" ? "Done" : `Stopped (${run.state})`}: ` +
      `${formatCount(run.objects_done)} objects, ${formatBytes(run.bytes_done)} copied; ` +
      `${formatCount(run.objects_skipped ?? skipped.length)} skipped.`;
    clear($("run-skipped")).append(...skipped.map((s) => el("tr", {},
      el("td", {}, s.bucket), el("td", {}, el("code", {}, s.key)), el("td", {}, s.reason))));
  }
}

export function initMigration(gateway) {
  let plan = null;
  let runId = null;
  let timer = null;

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

  async function poll() {
    timer = null;
    const id = runId;
    let run;
    try {
      run = await gateway.call("GET", apiPath("migration", "runs", id));
    } catch (e) {
      showError($("run-error"), e);
      if (id === runId) timer = setTimeout(poll, POLL_MS * 3);
      return;
    }
    if (id !== runId) return;
    renderRun(run);
    if (ACTIVE.has(run.state)) timer = setTimeout(poll, POLL_MS);
  }

  $("run-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      plan_id: plan?.id,
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
      const run = await gateway.call("POST", apiPath("migration", "runs"), { body });
      clearTimeout(timer);
      runId = run.id;
      $("run-report").hidden = true;
      renderRun(run);
      if (ACTIVE.has(run.state)) timer = setTimeout(poll, POLL_MS);
    } catch (e) {
      showError($("run-error"), e);
    } finally {
      body.secret_access_key = "";
      body.session_token = "";
    }
  });

  $("run-cancel").addEventListener("click", async () => {
    if (!runId) return;
    try {
      renderRun(await gateway.call("POST", apiPath("migration", "runs", runId, "cancel")));
    } catch (e) {
      showError($("run-error"), e);
    }
  });

  return {
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
