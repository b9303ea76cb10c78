// The list of stored snapshots: open, download, delete. Downloads go through a presigned URL
// (five minutes), so the browser streams the file to disk instead of this page holding it.

import { apiPath } from "./api.js";
import { $, clear, el, showError } from "./dom.js";
import { formatBytes, formatCount, formatTime } from "./format.js";

function row(s) {
  const action = (name, text, extra = {}) =>
    el("button", { type: "button", "data-action": name, "data-id": s.id, ...extra }, text);
  return el("tr", { "data-snapshot": s.id },
    el("th", { scope: "row" }, el("code", {}, s.id)),
    el("td", { class: "time" }, formatTime(s.created_at)),
    el("td", {}, `${s.endpoint_host ?? "?"} (${s.region ?? "?"})`),
    el("td", {}, s.sanitization ?? "—"),
    el("td", { class: "num" }, formatCount(s.buckets)),
    el("td", { class: "num" }, formatCount(s.objects)),
    el("td", { class: "num" }, formatBytes(s.bytes)),
    el("td", { class: "num" }, formatBytes(s.file_bytes)),
    el("td", { class: "actions" },
      action("open", "Open"),
      action("download", ".json", { "data-format": "json", "aria-label": `Download ${s.id} as JSON` }),
      action("download", ".json.gz", { "data-format": "json.gz", "aria-label": `Download ${s.id} as gzipped JSON` }),
      action("delete", "Delete", { class: "danger" })));
}

// Starts a download in the browser's own download manager.
function download(url) {
  const a = el("a", { href: url, download: "", hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

export function initSnapshots(gateway, { open, listed, deleted }) {
  async function refresh() {
    try {
      const { snapshots = [] } = await gateway.call("GET", apiPath("discovery", "snapshots"));
      clear($("snapshots-body")).append(...snapshots.map(row));
      $("snapshots-empty").hidden = snapshots.length > 0;
      showError($("snapshots-error"), null);
      listed(snapshots);
      return snapshots;
    } catch (e) {
      showError($("snapshots-error"), e);
      throw e;
    }
  }

  $("snapshots-refresh").addEventListener("click", () => refresh().catch(() => {}));

  $("snapshots-body").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.dataset.id;
    try {
      if (button.dataset.action === "open") {
        await open(id);
      } else if (button.dataset.action === "download") {
        download(await gateway.presign(apiPath("discovery", "snapshots", id, "download"),
          { format: button.dataset.format }));
      } else if (button.dataset.action === "delete") {
        if (!window.confirm(`Delete snapshot ${id}? This cannot be undone.`)) return;
        await gateway.call("DELETE", apiPath("discovery", "snapshots", id));
        deleted(id);
        await refresh();
      }
    } catch (e) {
      showError($("snapshots-error"), e);
    }
  });

  // Forget: the list belongs to the forgotten credential's tenant.
  function reset() {
    clear($("snapshots-body"));
    $("snapshots-empty").hidden = false;
    showError($("snapshots-error"), null);
  }

  return { refresh, reset };
}
