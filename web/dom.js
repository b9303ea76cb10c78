// Building DOM nodes without innerHTML: everything shown comes from a foreign account (bucket
// names, prefixes) or the gateway, so it is always text, never markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(id) {
  return document.getElementById(id);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Shows an error (or nothing) in a section's alert line. A stale one (the answer to a call made
// with a credential since forgotten, api.js) is not shown: the page has moved on.
export function showError(node, error) {
  if (error?.stale) return;
  node.textContent = error ? (error.message || String(error)) : "";
  node.hidden = !error;
}

// Appends rows to `tbody` a chunk per animation frame, so a table of thousands of buckets never
// blocks the page. `token` is an object whose `cancelled` stops an older rendering.
export function appendRowsInChunks(tbody, items, makeRow, token = {}, chunk = 200) {
  return new Promise((resolve) => {
    let i = 0;
    function step() {
      if (token.cancelled) return resolve(false);
      const fragment = document.createDocumentFragment();
      for (const end = Math.min(i + chunk, items.length); i < end; i += 1) fragment.append(makeRow(items[i], i));
      tbody.append(fragment);
      if (i < items.length) requestAnimationFrame(step);
      else resolve(true);
    }
    step();
  });
}
