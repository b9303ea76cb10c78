// Wires the page together: the Gateway panel holds the gateway credential (in memory only),
// the other panels use it through one Gateway object.

import { Gateway } from "./api.js";
import { $, showError } from "./dom.js";
import { initDiscovery } from "./discovery.js";
import { initMigration } from "./migration.js";
import { initResults } from "./results.js";
import { initSnapshots } from "./snapshots.js";

const gateway = new Gateway();
const results = initResults(gateway);
const migration = initMigration(gateway);
const snapshots = initSnapshots(gateway, {
  open: (id) => results.open(id),
  listed: (list) => migration.setSnapshots(list),
  deleted: (id) => results.closeIf(id),
});
const discovery = initDiscovery(gateway, {
  finished: async (job) => {
    await snapshots.refresh();
    if (job.state === "done" && job.snapshot_id) await results.open(job.snapshot_id);
  },
});

function connectedView(on) {
  $("gw-connect").textContent = on ? "Reconnect" : "Connect";
  $("gw-forget").hidden = !on;
  $("gateway-status").textContent = on
    ? `Connected as ${gateway.accessKeyId} (kept in this tab's memory only).`
    : "Not connected.";
}

// What the previous credential fetched or follows goes off the screen, and its polling stops.
function clearViews() {
  discovery.reset();
  migration.reset();
  results.close();
  snapshots.reset();
}

$("gateway-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const secret = $("gw-secret-key");
  const token = $("gw-session-token");
  clearViews();
  gateway.use({
    accessKeyId: $("gw-access-key").value.trim(),
    secretAccessKey: secret.value,
    sessionToken: token.value.trim(),
    region: $("gw-region").value.trim(),
  });
  // The secret now lives in `gateway` only, not in the form.
  secret.value = "";
  token.value = "";
  showError($("gateway-error"), null);
  try {
    await snapshots.refresh(); // proves the credential works and has discovery:GetDiscovery
    connectedView(true);
  } catch (e) {
    gateway.forget();
    connectedView(false);
    showError($("gateway-error"), e);
    return;
  }
  discovery.resume().catch((e) => showError($("discovery-error"), e));
  // A gateway without the migration API answers NotFound: the section then waits for a plan.
  migration.resume().catch((e) => e.status === 404 || showError($("run-error"), e));
});

// Forget: the credential, everything shown with it, and any secret typed into the page.
$("gw-forget").addEventListener("click", () => {
  gateway.forget();
  clearViews();
  for (const field of document.querySelectorAll('input[type="password"]')) field.value = "";
  showError($("gateway-error"), null);
  connectedView(false);
});

connectedView(false);
// Everything is wired: the submit buttons, disabled in index.html so that Enter before this
// point submits nothing, may work now.
for (const id of ["gw-connect", "discover", "plan-make", "run-start"]) $(id).disabled = false;
