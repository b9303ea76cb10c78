// Numbers as people read them. Sizes are binary (KiB, MiB …), as storage bills and `ls -h` use.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

export function formatBytes(n) {
  if (n == null || Number.isNaN(n)) return "—";
  let value = Number(n);
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatCount(n) {
  if (n == null || Number.isNaN(n)) return "—";
  return Number(n).toLocaleString("en-US");
}

// A size as short as it gets, for chart axes: "4 KiB", "1.5 MiB".
export function formatBytesShort(n) {
  return formatBytes(n).replace(/\.0+ /, " ").replace(/(\.\d*?)0+ /, "$1 ");
}

// A histogram bin's short label: its lower bound ("< 1 B" for the first).
export function formatBinStart(min, max) {
  return min === 0 ? `< ${formatBytesShort(max)}` : `≥ ${formatBytesShort(min)}`;
}

// A histogram bucket's range, [min, max): "< 1 B", "1 KiB – 4 KiB", "≥ 4 TiB".
export function formatRange(min, max) {
  if (max == null) return `≥ ${formatBytes(min)}`;
  if (min === 0) return `< ${formatBytes(max)}`;
  return `${formatBytes(min)} – ${formatBytes(max)}`;
}

export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// A rate per second as the dashboard shows it: "0.25/s", "12.5/s", "340/s".
export function formatRate(v) {
  if (v == null || !Number.isFinite(v)) return "—";
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}/s`;
}

// A latency in seconds as milliseconds: "0.42 ms", "12.3 ms".
export function formatLatency(seconds) {
  return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
}

// A time of day in UTC from ms since the epoch, for chart axes: "14:05", or "14:05:09".
export function formatClock(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

export function formatClockSeconds(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}
