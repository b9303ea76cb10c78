// The Prometheus text exposition format (0.0.4), as GET /admin/metrics answers it:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// Only what the dashboard reads: each sample line's name, labels and value (# HELP and # TYPE
// lines, and timestamps, are skipped).

// Label values escape \\, \" and \n.
function unescape(text) {
  return text.replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
}

function number(text) {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  return text.trim() === "" ? NaN : n;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,?)/;

// One sample line: {name, labels, value}, or null for a line that is none (blank, comment,
// malformed: a scrape with one bad line still shows the rest).
export function parseLine(line) {
  const text = line.trim();
  if (!text || text.startsWith("#")) return null;
  const name = NAME.exec(text);
  if (!name) return null;
  // The format allows blanks between the name and its labels ("name {a="b"} 1").
  let rest = text.slice(name[0].length).trimStart();
  const labels = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    for (;;) {
      const close = /^\s*}/.exec(rest);
      if (close) {
        rest = rest.slice(close[0].length);
        break;
      }
      const label = LABEL.exec(rest);
      if (!label) return null;
      labels[label[1]] = unescape(label[2]);
      rest = rest.slice(label[0].length);
      if (!label[3] && !/^\s*}/.test(rest)) return null;
    }
  }
  const fields = rest.trim().split(/\s+/);
  if (!fields[0]) return null;
  const value = number(fields[0]);
  if (Number.isNaN(value) && fields[0] !== "NaN") return null;
  return { name: name[0], labels, value };
}

export function parse(text) {
  return String(text).split("\n").map(parseLine).filter(Boolean);
}

// The sum of the samples named `name` whose labels pass `where` (all by default).
export function sum(samples, name, where = () => true) {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
}

// Whether any sample is named `name`.
export function has(samples, name) {
  return samples.some((s) => s.name === name);
}
