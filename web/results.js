// A snapshot's results: account totals, four charts (for the account or one bucket) and the
// per-bucket table. Drawn from GET /api/discovery/snapshots/{id}, which carries each bucket's
// summary but no object entries, so its size does not grow with the number of objects.

import { apiPath } from "./api.js";
import { barList, columnChart, histogram } from "./charts.js";
import { $, appendRowsInChunks, clear, el, showError } from "./dom.js";
import { formatBinStart, formatBytes, formatCount, formatRange, formatTime } from "./format.js";

const STATUSES = ["versioning", "encryption", "lifecycle", "replication", "object_lock", "policy"];
const LISTING = { complete: "complete", access_denied: "access denied", incomplete: "incomplete" };
const TOP_PREFIXES = 25;

function emptySummary() {
  return { object_count: 0, total_bytes: 0, storage_classes: [], size_histogram: [], last_modified: [], top_prefixes: [] };
}

function summaryOf(bucket) {
  return { ...emptySummary(), ...(bucket.summary || {}) };
}

// The account's summary: bins, classes and months added up; prefixes named with their bucket.
export function accountSummary(buckets) {
  const bins = new Map();
  const classes = new Map();
  const months = new Map();
  const prefixes = [];
  let objects = 0;
  let bytes = 0;
  for (const b of buckets) {
    const s = summaryOf(b);
    objects += s.object_count;
    bytes += s.total_bytes;
    for (const h of s.size_histogram) {
      const sum = bins.get(h.min_bytes) || { min_bytes: h.min_bytes, max_bytes: h.max_bytes, objects: 0, bytes: 0 };
      sum.objects += h.objects;
      sum.bytes += h.bytes;
      bins.set(h.min_bytes, sum);
    }
    for (const c of s.storage_classes) {
      const sum = classes.get(c.storage_class) || { storage_class: c.storage_class, objects: 0, bytes: 0 };
      sum.objects += c.objects;
      sum.bytes += c.bytes;
      classes.set(c.storage_class, sum);
    }
    for (const m of s.last_modified) {
      const sum = months.get(m.month) || { month: m.month, objects: 0, bytes: 0 };
      sum.objects += m.objects;
      sum.bytes += m.bytes;
      months.set(m.month, sum);
    }
    for (const p of s.top_prefixes) prefixes.push({ ...p, prefix: `${b.name}/${p.prefix}` });
  }
  return {
    object_count: objects,
    total_bytes: bytes,
    size_histogram: [...bins.values()].sort((a, b) => a.min_bytes - b.min_bytes),
    storage_classes: [...classes.values()].sort((a, b) => b.bytes - a.bytes),
    last_modified: [...months.values()].sort((a, b) => (a.month < b.month ? -1 : 1)),
    top_prefixes: prefixes.sort((a, b) => b.bytes - a.bytes).slice(0, TOP_PREFIXES),
  };
}

function prefixLabel(p) {
  return p === "" ? "(keys without a prefix)" : p;
}

function drawCharts(summary, scopeName) {
  const of = scopeName ? `bucket ${scopeName}` : "all buckets";
  clear($("chart-sizes")).append(histogram({
    title: `Object sizes, ${of}`,
    description: "Number of objects per size range; ranges grow by a factor of four.",
    bins: summary.size_histogram, measure: "objects", format: formatCount,
    label: (b) => formatBinStart(b.min_bytes, b.max_bytes),
    describe: (b) => `${formatRange(b.min_bytes, b.max_bytes)}: ${formatCount(b.objects)} objects, ${formatBytes(b.bytes)}`,
  }));
  clear($("chart-classes")).append(barList({
    title: `Bytes by storage class, ${of}`, description: "Total bytes stored in each storage class.",
    kind: "storage-classes", format: formatBytes,
    items: [...summary.storage_classes].sort((a, b) => b.bytes - a.bytes).map((c) => ({
      label: c.storage_class, value: c.bytes, tip: `${formatBytes(c.bytes)} in ${formatCount(c.objects)} objects` })),
  }));
  clear($("chart-prefixes")).append(barList({
    title: `Top prefixes by size, ${of}`, description: "The largest prefixes by total bytes.",
    kind: "prefixes", format: formatBytes,
    items: summary.top_prefixes.map((p) => ({
      label: prefixLabel(p.prefix), value: p.bytes,
      tip: `${formatBytes(p.bytes)} in ${formatCount(p.objects)} objects` +
        (p.bytes_error ? ` (may be up to ${formatBytes(p.bytes_error)} less)` : ""),
    })),
  }));
  clear($("chart-months")).append(columnChart({
    title: `Last modified by month, ${of}`, description: "Bytes last modified in each calendar month (UTC).",
    kind: "months", format: formatBytes,
    items: summary.last_modified.map((m) => ({
      label: m.month, value: m.bytes, tip: `${formatBytes(m.bytes)} in ${formatCount(m.objects)} objects` })),
  }));
}

function statusCell(value) {
  const v = value || "unknown";
  return el("td", { class: `status status-${v}`, title: v === "unknown" ? "the credentials could not read it" : null },
    v);
}

function bucketRow(b) {
  const s = summaryOf(b);
  const classes = s.storage_classes.map((c) => c.storage_class).join(", ") || "—";
  const listing = b.listing || "incomplete";
  return el("tr", { "data-bucket": b.name },
    el("th", { scope: "row" }, el("button", { type: "button", class: "link", "data-select": b.name }, b.name)),
    el("td", {}, b.region || "—"),
    el("td", { class: "num" }, formatCount(s.object_count)),
    el("td", { class: "num", title: `${formatCount(s.total_bytes)} bytes` }, formatBytes(s.total_bytes)),
    el("td", {}, classes),
    STATUSES.map((k) => statusCell(b.statuses?.[k])),
    el("td", { class: `listing listing-${listing}` }, LISTING[listing] || listing));
}

export function initResults(gateway) {
  let current = null;
  let rendering = { cancelled: false };

  function drawScope() {
    const name = $("chart-scope").value;
    const bucket = name ? current.buckets.find((b) => b.name === name) : null;
    drawCharts(bucket ? summaryOf(bucket) : current.account, bucket ? bucket.name : "");
  }

  function render(snapshot) {
    const buckets = snapshot.buckets || [];
    current = { id: snapshot.snapshot?.id, buckets, account: accountSummary(buckets) };
    const meta = snapshot.snapshot || {};
    $("results-panel").hidden = false;
    $("results-panel").dataset.snapshot = current.id;
    $("result-id").textContent = current.id;
    $("result-meta").textContent = `${meta.source?.endpoint_host ?? "?"} (${meta.source?.region ?? "?"}), ` +
      `taken ${formatTime(meta.created_at)}, keys ${meta.sanitization}, prefix depth ${meta.prefix_depth}`;
    $("result-buckets").textContent = formatCount(buckets.length);
    $("result-objects").textContent = formatCount(current.account.object_count);
    $("result-bytes").textContent = formatBytes(current.account.total_bytes);

    const scope = clear($("chart-scope"));
    scope.append(el("option", { value: "" }, "all buckets"), ...buckets.map((b) => el("option", { value: b.name }, b.name)));
    drawScope();

    rendering.cancelled = true;
    rendering = { cancelled: false };
    const body = clear($("bucket-body"));
    $("bucket-table").dataset.rendered = "false";
    appendRowsInChunks(body, buckets, bucketRow, rendering).then((complete) => {
      if (complete) $("bucket-table").dataset.rendered = "true";
    });
  }

  function close() {
    current = null;
    rendering.cancelled = true;
    $("results-panel").hidden = true;
    delete $("results-panel").dataset.snapshot;
    for (const id of ["bucket-body", "chart-sizes", "chart-classes", "chart-prefixes", "chart-months"]) clear($(id));
  }

  $("chart-scope").addEventListener("change", () => current && drawScope());
  $("bucket-body").addEventListener("click", (event) => {
    const name = event.target.closest("[data-select]")?.dataset.select;
    if (name == null) return;
    $("chart-scope").value = name;
    drawScope();
    $("charts").scrollIntoView({ behavior: "smooth", block: "start" });
  });

  return {
    async open(id) {
      try {
        render(await gateway.call("GET", apiPath("discovery", "snapshots", id)));
        showError($("snapshots-error"), null);
      } catch (e) {
        showError($("snapshots-error"), e);
      }
    },
    closeIf(id) {
      if (current?.id === id) close();
    },
    close,
  };
}
