// DOM helpers shared by the console, the widget and the Control Panel (client.js
// re-exports them, so pages import everything from one place).

/** The element of the page with this id. */
export const $ = (id) => document.getElementById(id);

/** Make `next` the children of `parent`, keeping each current child that is the same
 * node or an equal one (isEqualNode: tag, attributes, text and descendants).
 *
 * Why not replaceChildren: a redraw that swaps the button under a pressed mouse makes
 * the browser drop the click, so an Accept Call pressed as another call rang in did
 * nothing. Kept nodes keep their listeners, so an element with a listener must show in
 * its attributes everything the listener acts on (the tab's key, the invitation id). */
export function patch(parent, next) {
  const old = [...parent.childNodes];
  let from = 0;
  const wanted = next.filter((node) => node !== null && node !== undefined).map((node) => {
    // Forward only, so the kept nodes stay in their order and never move.
    for (let i = from; i < old.length; i += 1) {
      if (old[i] === node || old[i].isEqualNode(node)) {
        from = i + 1;
        return old[i];
      }
    }
    return node;
  });
  const keep = new Set(wanted);
  for (const node of old) if (!keep.has(node)) node.remove();
  wanted.forEach((node, i) => {
    const here = parent.childNodes[i] || null;
    if (here !== node) parent.insertBefore(node, here);
  });
}

/** The element's text set safely: visitor- or operator-supplied strings are never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "data") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

/** Random hex, `bytes` bytes of it: ids that must not repeat across page loads. */
export function randomHex(bytes) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}
