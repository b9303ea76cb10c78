// The operator dashboard's login, kept in this tab's sessionStorage only (docs/OBSERVABILITY.md,
// "Operator dashboard"): a reload of the tab keeps it, closing the tab or Sign out forgets it; no
// other tab, no cookie, no localStorage ever sees it. The discovery UI keeps its credential in
// memory only; this is the one file of web/ that touches web storage.

const KEY = "s3gw-dashboard-login";

export function loadLogin() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return value?.accessKeyId && value?.secretAccessKey ? value : null;
  } catch {
    return null;
  }
}

export function saveLogin({ accessKeyId, secretAccessKey, region }) {
  sessionStorage.setItem(KEY, JSON.stringify({ accessKeyId, secretAccessKey, region }));
}

export function forgetLogin() {
  sessionStorage.removeItem(KEY);
}
