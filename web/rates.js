// Rates for the dashboard, from the history's samples (GET /admin/metrics/history) and from two
// scrapes of GET /admin/metrics.

import { has, sum } from "./prometheus.js";

// A history sample's value of `field` per second over its own span (`seconds`), or null when
// either is unknown.
export function perSecond(sample, field) {
  const count = sample[field];
  const seconds = sample.seconds;
  if (count == null || !(seconds > 0)) return null;
  return count / seconds;
}

// The usual span between samples: the median of their `seconds` (null without any).
export function usualSpan(samples) {
  const spans = samples.map((s) => s.seconds).filter((x) => x > 0).sort((a, b) => a - b);
  return spans.length ? spans[Math.floor(spans.length / 2)] : null;
}

// The history as chart points [{t, v}] (t in ms): `value(sample)` of each. A sample that ends a
// gap (its span more than twice the usual one: the agent was down) starts a new line: a null
// point goes before it.
export function series(samples, value) {
  const usual = usualSpan(samples);
  const points = [];
  for (const s of samples) {
    const t = Date.parse(s.time);
    if (usual && s.seconds > 2 * usual) points.push({ t, v: null });
    points.push({ t, v: value(s) });
  }
  return points;
}

// The sum of `field` over the samples in the window starting at `from` (ms): a sample whose
// span began before it (the first one, or one after a gap of up to a day) counts only for the
// part of its span inside the window. Null when no sample knows `field`.
export function totalSince(samples, field, from) {
  let total = null;
  for (const s of samples) {
    if (s[field] == null) continue;
    const end = Date.parse(s.time);
    const start = s.seconds > 0 ? end - s.seconds * 1000 : end;
    const share = end <= from ? 0 : start >= from ? 1 : (end - from) / (end - start);
    total = (total ?? 0) + s[field] * share;
  }
  return total == null ? null : Math.round(total);
}

// Operations of the admin API (`admin:GetMetrics` …): the dashboard's own calls among them, so
// they are left out of the request and error rates (as the history's sampler leaves them out).
export function isAdmin(labels) {
  return String(labels.operation ?? "").startsWith("admin:");
}

// The gateway's request totals in one scrape: all requests but the admin API's, and those with a
// status of 400 or more (s3gw_requests_total{operation, status}); null when the scrape has no
// such counter.
export function requestTotals(samples) {
  if (!has(samples, "s3gw_requests_total")) return null;
  return {
    requests: sum(samples, "s3gw_requests_total", (l) => !isAdmin(l)),
    errors: sum(samples, "s3gw_requests_total", (l) => !isAdmin(l) && Number(l.status) >= 400),
  };
}

// Requests and errors per second between two scrapes ({at: ms, totals}); null when there is no
// earlier scrape, no time between them, or a counter went back (the gateway's counters were reset).
export function rateBetween(before, after) {
  if (!before?.totals || !after?.totals) return null;
  const seconds = (after.at - before.at) / 1000;
  if (!(seconds > 0)) return null;
  const requests = after.totals.requests - before.totals.requests;
  const errors = after.totals.errors - before.totals.errors;
  if (requests < 0 || errors < 0) return null;
  return { requests: requests / seconds, errors: errors / seconds, seconds };
}
