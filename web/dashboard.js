// The operator dashboard (docs/OBSERVABILITY.md, "Operator dashboard"): a gateway
// administrator's key, typed in and kept in this page's memory only (the Gateway object of
// api.js: no web storage, no cookie, so a reload asks for it again), signs every call to the
// admin API (api.js, sigv4.js); the panels refresh every few seconds (follow.js).
// Each panel loads on its own and shows its own error, so a gateway without the metrics or the
// audit routes (404) still shows the rest.

import { Gateway } from "./api.js";
import { lineChart } from "./charts.js";
import { $, clear, el, showError } from "./dom.js";
import { repeat } from "./follow.js";
import {
  formatClock, formatClockSeconds, formatCount, formatDuration, formatLatency, formatRate, formatTime,
} from "./format.js";
import { parse, has, sum } from "./prometheus.js";
import { perSecond, rateBetween, requestTotals, series, totalSince } from "./rates.js";

const REFRESH_MS = 5000;
const HOUR_MS = 3600 * 1000;
const gateway = new Gateway();
const refresher = repeat({ run: refresh, interval: REFRESH_MS });
let lastScrape = null; // the previous GET /admin/metrics: {at, totals}, for the rate now

// "403 SignatureDoesNotMatch: …": the admin API's status and code as it sent them.
function problem(error) {
  if (!error) return null;
  return { stale: error.stale, message: error.status ? `${error.status} ${error.message}` : error.message };
}

function show(id, error) {
  showError($(id), problem(error));
}

function note(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function set(id, text) {
  $(id).textContent = text;
}

function chart(id, options) {
  clear($(id)).append(lineChart(options));
}

// 404: this gateway has no such route (yet).
function missing(error) {
  return error?.status === 404;
}

// -- panels -----------------------------------------------------------------------------------
async function loadZones() {
  try {
    const page = await gateway.call("GET", "/admin/zones", { query: { limit: "1000" } });
    const body = clear($("zones-body"));
    for (const z of page.items) {
      body.append(el("tr", { "data-zone": z.name, "data-state": z.state },
        el("th", { scope: "row", text: z.name + (z.is_default ? " (default)" : "") }),
        el("td", { text: z.country || "—" }), el("td", { text: z.region || "—" }), el("td", { text: z.kind }),
        el("td", {}, el("span", { class: `zone-state state-${z.state}`, text: z.state })),
        el("td", { class: "num", text: z.state === "unknown" || z.consecutive_failures ? "—" : formatLatency(z.latency) }),
        el("td", { class: "time", text: formatTime(z.checked_at) }),
        el("td", { class: "zone-error", text: z.state === "healthy" ? "" : z.last_error })));
    }
    show("zones-error", null);
  } catch (e) {
    show("zones-error", e);
  }
}

async function loadHistory() {
  let answer;
  try {
    answer = await gateway.call("GET", "/admin/metrics/history", { query: { minutes: "60" } });
    show("history-error", null);
  } catch (e) {
    show("history-error", e);
    return null;
  }
  const samples = answer.samples;
  // The last hour by the gateway's clock, which timed the samples (this browser's may be off),
  // or as much of it as the gateway has sampled (a new gateway's first minutes would otherwise
  // be squeezed against the right edge).
  const lastTime = samples.length ? Date.parse(samples[samples.length - 1].time) : -Infinity;
  const to = Math.max(Date.parse(answer.now) || Date.now(), lastTime);
  const first = samples.length ? Date.parse(samples[0].time) : to;
  const from = Math.max(to - HOUR_MS, Math.min(first, to - 60 * 1000));
  const axisTime = to - from < 10 * 60 * 1000 ? formatClockSeconds : formatClock;
  const count = (v) => formatCount(Math.round(v));
  chart("chart-backlog", {
    title: "Replication backlog", description: "Jobs pending, running and dead-lettered at each sample",
    from, to, format: count, formatTime: axisTime, kind: "backlog",
    series: [
      { name: "pending", points: series(samples, (s) => s.replication_pending) },
      { name: "running", points: series(samples, (s) => s.replication_running) },
      { name: "dead", points: series(samples, (s) => s.replication_dead) },
    ],
  });
  chart("chart-lag", {
    title: "Replication lag",
    description: "How long the oldest pending job had waited at each sample, and the 95th percentile of "
      + "write-to-verified lag of the replicas verified since the previous sample",
    from, to, format: formatDuration, formatTime: axisTime, kind: "lag",
    series: [
      { name: "oldest pending", points: series(samples, (s) => s.replication_oldest_pending_seconds) },
      // Absent where no replica was verified in the interval: a gap, not a lag of 0.
      { name: "verified p95", points: series(samples, (s) => s.replication_lag_p95_seconds ?? null) },
    ],
  });
  chart("chart-requests", {
    title: "Request rate", description: "Requests per second between samples", from, to, format: formatRate,
    formatTime: axisTime,
    kind: "requests", series: [{ name: "requests/s", points: series(samples, (s) => perSecond(s, "requests")) }],
  });
  chart("chart-errors", {
    title: "Error rate", description: "Requests answered with a status of 400 or more, per second between samples",
    from, to, format: formatRate, formatTime: axisTime, kind: "errors",
    series: [{ name: "errors/s", points: series(samples, (s) => perSecond(s, "errors")) }],
  });
  const last = samples[samples.length - 1];
  set("repl-pending", last ? formatCount(last.replication_pending) : "—");
  set("repl-running", last ? formatCount(last.replication_running) : "—");
  set("repl-dead", last ? formatCount(last.replication_dead) : "—");
  set("repl-lag", last ? formatDuration(last.replication_oldest_pending_seconds) : "—");
  set("repl-done", samples.length ? formatCount(totalSince(samples, "replicated", to - HOUR_MS)) : "—");
  // Only what the last hour holds: a first sample after an outage spans more.
  set("hour-requests", formatCount(totalSince(samples, "requests", to - HOUR_MS)));
  set("hour-errors", formatCount(totalSince(samples, "errors", to - HOUR_MS)));
  return samples;
}

async function loadMetrics() {
  let text;
  try {
    text = await gateway.call("GET", "/admin/metrics", { text: true });
  } catch (e) {
    lastScrape = null;
    for (const id of ["now-requests", "now-errors", "now-in-flight"]) set(id, "—");
    if (missing(e)) {
      show("metrics-error", null);
      note("metrics-note", "Live metrics are not available on this gateway (GET /admin/metrics answered 404).");
    } else {
      note("metrics-note", null);
      show("metrics-error", e);
    }
    return;
  }
  note("metrics-note", null);
  show("metrics-error", null);
  const samples = parse(text);
  const scrape = { at: Date.now(), totals: requestTotals(samples) };
  const rate = rateBetween(lastScrape, scrape);
  lastScrape = scrape;
  set("now-requests", rate ? formatRate(rate.requests) : "—");
  set("now-errors", rate ? formatRate(rate.errors) : "—");
  // The gauge counts this scrape itself (refresh() makes it alone): left out.
  const inFlight = sum(samples, "s3gw_requests_in_flight") - 1;
  set("now-in-flight", has(samples, "s3gw_requests_in_flight") ? formatCount(Math.max(0, inFlight)) : "—");
}

function who(r) {
  if (r.access_key_id) return `${r.tenant ? r.tenant + " / " : ""}${r.access_key_id}`;
  return r.origin || "—";
}

async function loadAudit() {
  let page;
  try {
    // The newest 20 (the route answers oldest first, from the start, unless asked for the newest).
    page = await gateway.call("GET", "/admin/audit/events", { query: { limit: "20", newest: "true" } });
  } catch (e) {
    clear($("audit-body"));
    $("audit-table").hidden = missing(e);
    if (missing(e)) {
      show("audit-error", null);
      note("audit-note", "The audit log is not available on this gateway (GET /admin/audit/events answered 404).");
    } else {
      note("audit-note", null);
      show("audit-error", e);
    }
    return;
  }
  note("audit-note", null);
  show("audit-error", null);
  $("audit-table").hidden = false;
  const records = [...(page.records || [])].sort((a, b) => b.seq - a.seq);
  const body = clear($("audit-body"));
  for (const r of records) {
    body.append(el("tr", { "data-seq": r.seq, "data-operation": r.operation || "" },
      el("td", { class: "num", text: r.seq }), el("td", { class: "time", text: formatTime(r.time) }),
      el("td", { text: r.operation || "—" }), el("td", { text: r.change || "—" }), el("td", { text: who(r) }),
      el("td", { text: r.bucket || "" }), el("td", { text: r.key || "" }), el("td", { text: r.client_ip || "" })));
  }
  if (!records.length) note("audit-note", "No audit events yet.");
}

async function refresh() {
  // The metrics first and alone, so the only call of this page in flight is their scrape.
  await loadMetrics();
  await Promise.all([loadZones(), loadHistory(), loadAudit()]);
  set("refreshed", `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshed every ${REFRESH_MS / 1000} s.`);
}

// -- signing in and out -----------------------------------------------------------------------
function signedInView(on) {
  $("panels").hidden = !on;
  $("logout").hidden = !on;
  $("login-submit").textContent = on ? "Sign in again" : "Sign in";
  set("login-status", on
    ? `Signed in as ${gateway.accessKeyId} (kept in this page only, until you sign out or reload it).`
    : "Not signed in.");
}

function clearPanels() {
  lastScrape = null;
  for (const id of ["zones-body", "audit-body", "chart-backlog", "chart-lag", "chart-requests", "chart-errors"]) {
    clear($(id));
  }
  for (const id of ["zones-error", "history-error", "metrics-error", "audit-error"]) show(id, null);
  for (const id of ["metrics-note", "audit-note"]) note(id, null);
}

// Proves the key (a signed call any administrator may make) before keeping it; a wrong secret
// is the admin API's 403 SignatureDoesNotMatch, shown as it came, and signs out. A gateway that
// does not answer (network error, 5xx) says nothing about the key: it is kept, and the panels
// show the errors until the gateway is back. The button is disabled meanwhile; a sign-out (or a
// newer sign-in) makes this one's answer stale, and a stale answer changes nothing.
let signingIn = 0;
async function signIn(login) {
  const attempt = (signingIn += 1);
  refresher.stop();
  clearPanels();
  gateway.use(login);
  show("login-error", null);
  $("login-submit").disabled = true;
  try {
    await gateway.call("GET", "/admin/zones", { query: { limit: "1" } });
  } catch (e) {
    if (e.stale) return;
    show("login-error", e);
    if (e.status === 401 || e.status === 403) {
      gateway.forget();
      signedInView(false);
      return;
    }
  } finally {
    if (attempt === signingIn) $("login-submit").disabled = false;
  }
  signedInView(true);
  refresher.start();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const secret = $("login-secret-key");
  const login = {
    accessKeyId: $("login-access-key").value.trim(),
    secretAccessKey: secret.value,
    region: $("login-region").value.trim() || "us-east-1",
  };
  secret.value = "";
  signIn(login);
});

$("logout").addEventListener("click", () => {
  refresher.stop();
  gateway.forget();
  clearPanels();
  show("login-error", null);
  $("login-secret-key").value = "";
  signedInView(false);
});

signedInView(false);
$("login-submit").disabled = false;
