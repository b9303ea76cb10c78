// Small inline-SVG charts, drawn from already-aggregated summaries (never from object lists).
// Each chart is an <svg role="img"> with a <title> and <desc>; each bar is a <rect class="bar">
// with its own <title>, so screen readers and hover both tell the exact value. Colours and fonts
// come from style.css (classes only: the page's CSP allows no inline styles).

const NS = "http://www.w3.org/2000/svg";
let nextId = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
  for (const child of children.flat()) {
    if (child == null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function frame(kind, title, description, width, height) {
  const id = `chart-${(nextId += 1)}`;
  return svg("svg", {
    class: `chart ${kind}`, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`, "data-chart": kind,
  }, svg("title", { id: `${id}-title` }, title), svg("desc", { id: `${id}-desc` }, description));
}

function emptyNote(root, width, height) {
  root.append(svg("text", { class: "empty", x: width / 2, y: height / 2, "text-anchor": "middle" }, "No data"));
  return root;
}

function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

// Items are {label, value, tip?, title?}: a bar's hover text is `title`, or "label: tip".

// Vertical columns, one per item in order (histogram bins, months). Every item gets a <rect>,
// zero or not, so charts of the same kind line up. Labels thin out when there are many.
export function columnChart({ title, description = "", items, format = String, kind = "columns" }) {
  const width = 640;
  const height = 270;
  const m = { top: 12, right: 8, bottom: 78, left: 72 };
  const root = frame(kind, title, description, width, height);
  if (!items.length) return emptyNote(root, width, height);
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const max = Math.max(1, ...items.map((d) => d.value));
  const band = plotW / items.length;
  const labelEvery = Math.ceil(items.length / 24);
  const y = (v) => m.top + plotH - (v / max) * plotH;

  root.append(
    svg("line", { class: "axis", x1: m.left, y1: m.top + plotH, x2: width - m.right, y2: m.top + plotH }),
    svg("text", { class: "tick", x: m.left - 6, y: y(max) + 4, "text-anchor": "end" }, format(max)),
    svg("text", { class: "tick", x: m.left - 6, y: y(0) + 4, "text-anchor": "end" }, format(0)),
  );
  const bars = svg("g", { class: "bars" });
  const barW = Math.min(band * 0.8, 48);
  items.forEach((d, i) => {
    const x = m.left + i * band + (band - barW) / 2;
    const h = Math.max(0, y(0) - y(d.value));
    bars.append(svg("rect", { class: "bar", x: x.toFixed(1), y: (y(0) - h).toFixed(1), width: barW.toFixed(1),
      height: h.toFixed(1), "data-value": d.value }, svg("title", {}, d.title ?? `${d.label}: ${d.tip ?? format(d.value)}`)));
    if (i % labelEvery === 0) {
      const lx = m.left + i * band + band / 2;
      const ly = m.top + plotH + 10;
      bars.append(svg("text", { class: "label", x: lx.toFixed(1), y: ly, "text-anchor": "end",
        transform: `rotate(-45 ${lx.toFixed(1)} ${ly})` }, d.label));
    }
  });
  root.append(bars);
  return root;
}

// Horizontal bars, largest first as given (storage classes, prefixes): a label, a bar, a value.
export function barList({ title, description = "", items, format = String, kind = "bars" }) {
  const width = 640;
  const row = 22;
  const m = { top: 8, right: 96, bottom: 8, left: 200 };
  const height = Math.max(60, m.top + m.bottom + items.length * row);
  const root = frame(kind, title, description, width, height);
  if (!items.length) return emptyNote(root, width, height);
  const plotW = width - m.left - m.right;
  const max = Math.max(1, ...items.map((d) => d.value));
  const bars = svg("g", { class: "bars" });
  items.forEach((d, i) => {
    const top = m.top + i * row;
    const w = (d.value / max) * plotW;
    bars.append(
      svg("text", { class: "label", x: m.left - 6, y: top + row * 0.68, "text-anchor": "end" }, shorten(d.label, 30)),
      svg("rect", { class: "bar", x: m.left, y: top + 3, width: w.toFixed(1), height: row - 6, "data-value": d.value },
        svg("title", {}, d.title ?? `${d.label}: ${d.tip ?? format(d.value)}`)),
      svg("text", { class: "value", x: (m.left + w + 4).toFixed(1), y: top + row * 0.68 }, format(d.value)),
    );
  });
  root.append(bars);
  return root;
}

// A size histogram: the snapshot's fixed bins ([0,1), [1,4), [4,16) … [4^21, ∞)) as columns.
// `label(bin)` is its axis label, `describe(bin)` its whole hover text.
export function histogram({ title, description = "", bins, measure = "objects", format = String, label, describe }) {
  const items = bins.map((b) => ({ label: label(b), value: b[measure], title: describe ? describe(b) : undefined }));
  return columnChart({ title, description, items, format, kind: "histogram" });
}

// Lines over time (the dashboard's last hour): each series is {name, points: [{t, v}]} with t in
// ms and v a number, or null where it is unknown (the line breaks there). Each series is one
// <path class="line series-i"> whose data-points says how many points it has, and each point a
// <circle class="point"> with its own <title>. The x axis spans [from, to].
export function lineChart({ title, description = "", series, from, to, format = String, formatTime = String,
  kind = "lines" }) {
  const width = 640;
  const height = 220;
  const m = { top: 12, right: 12, bottom: 40, left: 72 };
  const root = frame(kind, title, description, width, height);
  const known = series.flatMap((s) => s.points.filter((p) => p.v != null && p.t >= from && p.t <= to));
  if (!known.length) return emptyNote(root, width, height);
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const max = Math.max(...known.map((p) => p.v)) || 1;
  const x = (t) => m.left + ((t - from) / Math.max(1, to - from)) * plotW;
  const y = (v) => m.top + plotH - (v / max) * plotH;

  root.append(
    svg("line", { class: "axis", x1: m.left, y1: m.top + plotH, x2: width - m.right, y2: m.top + plotH }),
    svg("line", { class: "grid", x1: m.left, y1: y(max), x2: width - m.right, y2: y(max) }),
    svg("text", { class: "tick", x: m.left - 6, y: y(max) + 4, "text-anchor": "end" }, format(max)),
    svg("text", { class: "tick", x: m.left - 6, y: y(0) + 4, "text-anchor": "end" }, format(0)),
    svg("text", { class: "tick", x: m.left, y: height - m.bottom + 16, "text-anchor": "start" }, formatTime(from)),
    svg("text", { class: "tick", x: width - m.right, y: height - m.bottom + 16, "text-anchor": "end" }, formatTime(to)),
  );
  const legend = svg("g", { class: "legend" });
  series.forEach((s, i) => {
    const points = s.points.filter((p) => p.t >= from && p.t <= to);
    let d = "";
    let pen = false;
    const dots = svg("g", { class: `points series-${i}` });
    let count = 0;
    for (const p of points) {
      if (p.v == null) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)} `;
      pen = true;
      count += 1;
      dots.append(svg("circle", { class: "point", cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2.5,
        "data-value": p.v }, svg("title", {}, `${s.name} at ${formatTime(p.t)}: ${format(p.v)}`)));
    }
    root.append(svg("path", { class: `line series-${i}`, d: d.trim() || null, "data-series": s.name,
      "data-points": count }), dots);
    const lx = m.left + i * 150;
    legend.append(
      svg("rect", { class: `swatch series-${i}`, x: lx, y: height - 14, width: 10, height: 10 }),
      svg("text", { class: "label", x: lx + 14, y: height - 5 }, s.name),
    );
  });
  root.append(legend);
  return root;
}
