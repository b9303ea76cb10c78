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

// The history as chart points [{t, v}] (t in ms): `value(sample)` of each.
export function series(samples, value) {
  return samples.map((s) => ({ t: Date.parse(s.time), v: value(s) }));
}

// The gateway's request totals in one scrape: all requests, and those with a status of 400 or
// more (s3gw_requests_total{operation, status}); null when the scrape has no such counter.
export function requestTotals(samples) {
  if (!has(samples, "s3gw_requests_total")) return null;
  return {
    requests: sum(samples, "s3gw_requests_total"),
    errors: sum(samples, "s3gw_requests_total", (l) => Number(l.status) >= 400),
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
