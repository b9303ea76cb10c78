// The gateway's JSON API (/api/discovery/…, /api/migration/…), signed with the gateway
// credential the user entered in the Gateway panel. That credential lives in this object only:
// never in localStorage, sessionStorage, cookies or the URL bar, so a reload forgets it.

import { presignUrl, signRequest, uriEncode } from "./sigv4.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message ? `${code}: ${message}` : code);
    this.status = status;
    this.code = code;
  }
}

// "/api/discovery/snapshots/{id}" from its segments, each encoded once as SigV4 signs it.
export function apiPath(...segments) {
  return "/api/" + segments.map((s) => uriEncode(s)).join("/");
}

// The error the gateway (JSON or S3 XML) or nginx (HTML) sent, as one readable line.
async function errorFrom(response) {
  const text = await response.text();
  try {
    const doc = JSON.parse(text);
    // The web API nests its error ({"error": {…}}); the admin API's is the document itself.
    const e = doc?.error ?? doc;
    if (e && e.code) return new ApiError(response.status, e.code, e.message || "");
  } catch {
    // not JSON: below
  }
  const xml = new DOMParser().parseFromString(text, "application/xml");
  const code = xml.querySelector("Error > Code");
  if (code) return new ApiError(response.status, code.textContent, xml.querySelector("Error > Message")?.textContent);
  return new ApiError(response.status, `HTTP ${response.status}`, response.statusText);
}

// What a call made with a credential since forgotten (or replaced) ends in, instead of its
// answer: nothing it fetched may reach the screen after Forget. showError shows nothing for it.
function staleError() {
  const e = new ApiError(0, "Forgotten", "the gateway credential this call was made with is forgotten");
  e.stale = true;
  return e;
}

export class Gateway {
  #credentials = null;
  #region = "us-east-1";
  #epoch = 0; // bumped by use() and forget(): answers to calls of an older epoch are dropped

  get connected() {
    return this.#credentials !== null;
  }

  get accessKeyId() {
    return this.#credentials?.accessKeyId ?? "";
  }

  use({ accessKeyId, secretAccessKey, sessionToken = "", region = "us-east-1" }) {
    this.#credentials = { accessKeyId, secretAccessKey, sessionToken };
    this.#region = region || "us-east-1";
    this.#epoch += 1;
  }

  forget() {
    this.#credentials = null;
    this.#epoch += 1;
  }

  #require() {
    if (!this.#credentials) throw new ApiError(0, "NotConnected", "enter a gateway credential in the Gateway panel first");
    return this.#credentials;
  }

  // One signed call. `body` is sent as JSON; the answer is parsed JSON, or null for 204 (with
  // `text: true`, the answer's text as it is, e.g. Prometheus metrics).
  async call(method, path, { query = {}, body, text: raw = false } = {}) {
    const credentials = this.#require();
    const epoch = this.#epoch;
    const search = new URLSearchParams(query).toString();
    const url = new URL(path + (search ? "?" + search : ""), location.origin).href;
    const data = body === undefined ? "" : JSON.stringify(body);
    const headers = data ? { "content-type": "application/json" } : {};
    const signed = await signRequest({ method, url, headers, body: data, credentials, region: this.#region });
    let response;
    try {
      response = await fetch(url, { method, headers: signed.headers, body: data || undefined, credentials: "omit",
        cache: "no-store" });
    } catch (e) {
      if (epoch !== this.#epoch) throw staleError();
      throw new ApiError(0, "NetworkError", `the gateway did not answer (${e.message})`);
    }
    const error = response.ok ? null : await errorFrom(response);
    const text = error || response.status === 204 ? "" : await response.text();
    if (epoch !== this.#epoch) throw staleError();
    if (error) throw error;
    if (raw) return text;
    return text ? JSON.parse(text) : null;
  }

  // A URL the browser may open for five minutes, e.g. to download a snapshot to disk.
  async presign(path, query = {}) {
    const credentials = this.#require();
    const epoch = this.#epoch;
    const search = new URLSearchParams(query).toString();
    const url = new URL(path + (search ? "?" + search : ""), location.origin).href;
    const signed = await presignUrl({ url, credentials, region: this.#region, expires: 300 });
    if (epoch !== this.#epoch) throw staleError();
    return signed;
  }
}
