// AWS Signature Version 4 for the gateway's JSON API, with the browser's WebCrypto.
//
// Each stage is named after AWS's spec ("Create a signed AWS API request"):
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// and, for query signing, "Authenticating Requests: Using Query Parameters":
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
// The time is a parameter so tests can sign with fixed inputs and compare with botocore.
// crypto.subtle exists only in a secure context (https, or http from 127.0.0.1 / localhost).

const encoder = new TextEncoder();
const ALGORITHM = "AWS4-HMAC-SHA256";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(data) {
  if (data == null) return new Uint8Array(0);
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data; // a Uint8Array
}

export async function sha256Hex(data) {
  return hex(await crypto.subtle.digest("SHA-256", bytes(data)));
}

async function hmac(key, message) {
  const k = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, bytes(message));
}

// RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex, as AWS asks
// (encodeURIComponent leaves !'()* alone, which AWS does not).
export function uriEncode(value, keepSlash = false) {
  let out = "";
  for (const byte of encoder.encode(String(value))) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

// "20130524T000000Z" and "20130524".
export function amzDate(date) {
  const iso = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { dateTime: iso, day: iso.slice(0, 8) };
}

// The path is used as given (already encoded once, as S3 signs it); the query is a list of
// [name, value] pairs, unencoded.
export function canonicalQuery(pairs) {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v ?? "")])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

function canonicalHeaders(headers) {
  const entries = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), String(v).trim().replace(/\s+/g, " ")])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    text: entries.map(([k, v]) => `${k}:${v}\n`).join(""),
    signed: entries.map(([k]) => k).join(";"),
  };
}

export function canonicalRequest(method, path, query, headers, payloadHash) {
  const h = canonicalHeaders(headers);
  return {
    text: [method, path || "/", canonicalQuery(query), h.text, h.signed, payloadHash].join("\n"),
    signedHeaders: h.signed,
  };
}

export async function stringToSign(dateTime, scope, canonicalRequestText) {
  return [ALGORITHM, dateTime, scope, await sha256Hex(canonicalRequestText)].join("\n");
}

export async function signingKey(secretAccessKey, day, region, service) {
  const kDate = await hmac("AWS4" + secretAccessKey, day);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  return hmac(kService, "aws4_request");
}

function splitUrl(url) {
  const u = new URL(url, location.href);
  const query = [];
  for (const part of u.search.slice(1).split("&").filter(Boolean)) {
    const [k, v = ""] = part.split("=");
    query.push([decodeURIComponent(k.replace(/\+/g, " ")), decodeURIComponent(v.replace(/\+/g, " "))]);
  }
  return { u, path: u.pathname, query };
}

// Signs a request in its headers. Returns the headers to send (x-amz-date,
// x-amz-content-sha256, x-amz-security-token when there is a token, authorization; the browser
// sends Host itself, and it is signed as URL.host, which omits a default port as the browser does)
// and the intermediate stages, for tests.
export async function signRequest({ method, url, headers = {}, body = "", credentials, region, service = "s3",
  date = new Date() }) {
  const { u, path, query } = splitUrl(url);
  const { dateTime, day } = amzDate(date);
  const payloadHash = await sha256Hex(body);
  const send = { ...headers, "x-amz-date": dateTime, "x-amz-content-sha256": payloadHash };
  if (credentials.sessionToken) send["x-amz-security-token"] = credentials.sessionToken;
  const canonical = canonicalRequest(method, path, query, { ...send, host: u.host }, payloadHash);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = await stringToSign(dateTime, scope, canonical.text);
  const signature = hex(await hmac(await signingKey(credentials.secretAccessKey, day, region, service), toSign));
  send.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`;
  return { headers: send, canonicalRequest: canonical.text, stringToSign: toSign, signature };
}

// A presigned URL (only Host signed, payload UNSIGNED-PAYLOAD), so the browser itself can fetch
// it, e.g. to stream a download to disk.
export async function presignUrl({ method = "GET", url, credentials, region, service = "s3", expires = 300,
  date = new Date() }) {
  const { u, path, query } = splitUrl(url);
  const { dateTime, day } = amzDate(date);
  const scope = `${day}/${region}/${service}/aws4_request`;
  query.push(
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", dateTime],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", "host"],
  );
  if (credentials.sessionToken) query.push(["X-Amz-Security-Token", credentials.sessionToken]);
  const canonical = canonicalRequest(method, path, query, { host: u.host }, UNSIGNED_PAYLOAD);
  const toSign = await stringToSign(dateTime, scope, canonical.text);
  const signature = hex(await hmac(await signingKey(credentials.secretAccessKey, day, region, service), toSign));
  return `${u.origin}${path}?${canonicalQuery(query)}&X-Amz-Signature=${signature}`;
}
