// A protocol client for the browser: the rules of docs/protocol.md in one place.
// It sends hello, answers ping, acknowledges sequenced events, drops replays
// (seq at or below the last seen), pairs replies with requests, and reconnects
// with backoff, resuming the session so nothing is lost or shown twice.

const BACKOFF = [500, 1000, 2000, 4000, 8000]; // ms between reconnect attempts
// Acks are cumulative, so they are batched: at most ACK_DELAY ms after the first
// unacknowledged event, or at once after ACK_EVERY of them (one ack per event was 39 % of
// all the frames clients sent).
const ACK_DELAY = 1000;
const ACK_EVERY = 32;

export class Client {
  /**
   * @param {string} url WebSocket URL (ws://host/ws/operator or /ws/visitor)
   * @param {() => object} hello builds the hello frame (without resume fields)
   * @param {(event: object) => void} onEvent every event, in order, once
   * @param {(state: string) => void} onState "connecting" | "online" | "reconnecting" | "closed"
   */
  constructor(url, hello, onEvent, onState = () => {}) {
    this.url = url;
    this.hello = hello;
    this.onEvent = onEvent;
    this.onState = onState;
    this.session = null;
    this.resumeToken = null;
    this.lastSeq = 0;
    this.pending = new Map(); // request id -> {resolve, reject}
    this.ids = 0;
    this.attempt = 0;
    this.stopped = false;
    this.ws = null;
    this.queue = []; // frames written while disconnected, sent on resume
    this.unacked = 0;
    this.ackTimer = null;
  }

  connect() {
    this.onState(this.session ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      const hello = { ...this.hello(), type: "hello" };
      if (this.session) {
        hello.session = this.session;
        hello.last_seq = this.lastSeq;
        if (this.resumeToken) hello.resume_token = this.resumeToken;
      }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (msg) => this.receive(JSON.parse(msg.data));
    ws.onclose = (close) => this.closed(close);
  }

  receive(event) {
    if (event.type === "ping") {
      this.raw({ type: "pong" });
      return;
    }
    if (event.type === "welcome") {
      if (!event.resumed) this.lastSeq = 0; // a fresh session numbers from 1
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
      this.unacked = 0;
      this.session = event.session;
      this.resumeToken = event.resume_token || this.resumeToken;
      this.attempt = 0;
      this.onState("online");
      this.onEvent(event);
      for (const frame of this.queue.splice(0)) this.raw(frame);
      return;
    }
    if (event.seq) {
      if (event.seq <= this.lastSeq) return; // replayed duplicate
      this.lastSeq = event.seq;
      this.unacked += 1;
      if (this.unacked >= ACK_EVERY) this.ack();
      else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.ack(), ACK_DELAY);
    }
    if (event.ref && this.pending.has(event.ref)) {
      const { resolve, reject } = this.pending.get(event.ref);
      this.pending.delete(event.ref);
      if (event.type === "error") reject(event);
      else resolve(event);
    }
    this.onEvent(event);
  }

  closed(close) {
    if (this.stopped) return;
    // 4001: another connection took the session over; 4401: logged out / bad token
    if (close.code === 4001 || close.code === 4401 || close.code === 1000) {
      this.stopped = true;
      this.onState("closed");
      this.onEvent({ type: "closed", code: close.code, reason: close.reason });
      return;
    }
    const delay = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
    this.attempt += 1;
    this.onState("reconnecting");
    setTimeout(() => this.connect(), delay);
  }

  ack() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.unacked && this.raw({ type: "ack", seq: this.lastSeq })) this.unacked = 0;
  }

  raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** Send a request; resolves with its ok, rejects with its error. Survives reconnects:
   * the server remembers request ids, so a resent request is answered, not redone. */
  request(frame) {
    const id = `r${++this.ids}`;
    const full = { ...frame, id };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.raw(full)) this.queue.push(full);
    });
  }

  /** A message that gets no reply (typing, bye). Dropped while disconnected. */
  send(frame) {
    this.raw(frame);
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000);
  }
}

/** Wire the page's login form (#login, #login-error) to the HTTP login; calls
 * onToken(token) once logged in. The token is kept for this tab (sessionStorage). */
export function loginForm(onToken) {
  const form = document.getElementById("login");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login: data.get("login"), password: data.get("password") }),
    });
    if (!response.ok) {
      document.getElementById("login-error").textContent = "Wrong login or password.";
      return;
    }
    const { token } = await response.json();
    sessionStorage.setItem("ringlab.token", token);
    onToken(token);
  });
}

/** Log out: the token stops working and every connection opened with it closes. */
export async function logOut() {
  const token = sessionStorage.getItem("ringlab.token");
  sessionStorage.removeItem("ringlab.token");
  if (token) await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  location.reload();
}

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
