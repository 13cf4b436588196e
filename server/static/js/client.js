// A protocol client for the browser: the rules of docs/protocol.md in one place.
// It sends hello, answers ping, acknowledges sequenced events, drops replays
// (seq at or below the last seen), pairs replies with requests, and reconnects
// with backoff, resuming the session so nothing is lost or shown twice. The words
// for every error code are here too (describeError), so no page shows a raw message.

import { $, el, patch, randomHex } from "./dom.js";

export { $, el, patch };

/** Longest chat text, in characters (code points, as the server counts them). */
export const MAX_TEXT_CHARS = 4000;
// Reconnect backoff: 0.5 s doubling, at most 10 s, each delay +-20 % (docs/protocol.md).
const FIRST_DELAY = 500;
const MAX_DELAY = 10000;
const JITTER = 0.2;
// Acks are cumulative, so they are batched: at most ACK_DELAY ms after the first
// unacknowledged event, or at once after ACK_EVERY of them (one ack per event was 39 % of
// all the frames clients sent).
const ACK_DELAY = 1000;
const ACK_EVERY = 32;
// Closes after which reconnecting cannot help: bye (1000), taken over by a newer
// connection (4001), a malformed hello (4400), not authenticated / logged out (4401).
const FINAL_CLOSES = [1000, 4001, 4400, 4401];

export class Client {
  /**
   * @param {string} url WebSocket URL (ws://host/ws/operator or /ws/visitor)
   * @param {() => object} hello builds the hello frame (without resume fields)
   * @param {(event: object) => void} onEvent every event, in order, once
   * @param {(state: string) => void} onState "connecting" | "online" | "reconnecting" | "closed"
   * @param {{session?: string, resumeToken?: string, lastSeq?: number}|null} resume a session
   *   kept by an earlier page load, resumed by the first hello
   */
  constructor(url, hello, onEvent, onState = () => {}, resume = null) {
    this.url = url;
    this.hello = hello;
    this.onEvent = onEvent;
    this.onState = onState;
    this.session = (resume && resume.session) || null;
    this.resumeToken = (resume && resume.resumeToken) || null;
    this.lastSeq = (resume && resume.lastSeq) || 0;
    // Request ids are unique per session across page loads too (a resumed session
    // answers a repeated id with its old answer): a random prefix per page load.
    this.prefix = `r${randomHex(6)}.`;
    this.ids = 0;
    this.pending = new Map(); // request id -> {frame, resolve, reject}, in sending order
    this.attempt = 0;
    this.stopped = false;
    this.welcomed = false; // a welcome came on this page: later connects are reconnects
    this.ready = false; // the current connection got its welcome
    this.ws = null;
    this.unacked = 0;
    this.ackTimer = null;
    this.deadPeer = 30000; // ms without any frame after which the connection is dead
    this.watchdog = null;
    this.retry = null;
  }

  /** What a later page load needs to resume this session. */
  get resume() {
    return { session: this.session, resumeToken: this.resumeToken, lastSeq: this.lastSeq };
  }

  connect() {
    if (this.stopped) return;
    this.onState(this.welcomed ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.ready = false;
    this.watch();
    ws.onopen = () => {
      if (this.ws !== ws) return;
      // batch: under load the server may put the events queued for this page in one
      // frame, a JSON array (one socket write instead of one per event)
      const hello = { ...this.hello(), type: "hello", batch: true };
      if (this.session) {
        hello.session = this.session;
        hello.last_seq = this.lastSeq;
        if (this.resumeToken) hello.resume_token = this.resumeToken;
      }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      for (const event of Array.isArray(data) ? data : [data]) {
        if (this.ws === ws) this.receive(event);
      }
    };
    ws.onclose = (close) => {
      if (this.ws === ws) this.closed(close);
    };
  }

  /** Any frame proves the peer alive; none for dead_peer_timeout means the connection
   * is dead (a cut link may never report a close): drop it and reconnect. */
  watch() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.drop(), this.deadPeer);
  }

  drop(reason = "no frame for dead_peer_timeout") {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close();
    } catch {
      // already closing
    }
    this.closed({ code: 1006, reason });
  }

  receive(event) {
    this.watch();
    if (event.type === "ping") {
      this.raw({ type: "pong" });
      return;
    }
    if (event.type === "welcome") {
      if (!event.resumed) this.lastSeq = 0; // a fresh session numbers from 1
      // Never ahead of the server (a page's stale storage): its snapshot must not be dropped.
      else if (event.last_seq < this.lastSeq) this.lastSeq = event.last_seq;
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
      this.unacked = 0;
      this.session = event.session;
      this.resumeToken = event.resume_token || this.resumeToken;
      if (event.dead_peer_timeout) this.deadPeer = event.dead_peer_timeout * 1000;
      this.attempt = 0;
      this.ready = true;
      this.welcomed = true;
      this.onState("online");
      this.onEvent(event);
      // Every request without an answer goes again, with its id: one written while
      // disconnected, and one lost with the connection. The server answers an id it
      // already applied with the old answer, so nothing is applied twice.
      for (const { frame } of this.pending.values()) this.raw(frame);
      return;
    }
    if (event.seq) {
      if (event.seq <= this.lastSeq) return; // replayed duplicate
      if (event.seq > this.lastSeq + 1 && event.type !== "snapshot") {
        // A gap (frames lost somehow; a snapshot may start anywhere): resume from lastSeq,
        // which replays what is missing.
        this.drop("seq gap");
        return;
      }
      this.lastSeq = event.seq;
      this.unacked += 1;
      if (this.unacked >= ACK_EVERY) this.ack();
      else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.ack(), ACK_DELAY);
    }
    if (event.ref && this.pending.has(event.ref)) {
      const { resolve, reject } = this.pending.get(event.ref);
      this.pending.delete(event.ref);
      // An error without seq: the frame was not taken, nothing of it applied.
      if (event.type === "error") reject(event);
      else resolve(event);
    }
    this.onEvent(event);
  }

  closed(close) {
    this.ready = false;
    clearTimeout(this.watchdog);
    if (this.stopped) return;
    if (FINAL_CLOSES.includes(close.code)) {
      this.stopped = true;
      this.onState("closed");
      this.onEvent({ type: "closed", code: close.code, reason: close.reason });
      return;
    }
    const base = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** this.attempt);
    this.attempt += 1;
    this.onState("reconnecting");
    this.retry = setTimeout(() => this.connect(), base * (1 + JITTER * (2 * Math.random() - 1)));
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

  /** Send a request; resolves with its ok, rejects with its error (a server's, or a local
   * one for a text over MAX_TEXT_CHARS: never sent). Survives reconnects, and page loads
   * when the page keeps pendingFrames() and requests them again: a frame that has an id
   * keeps it. The promise's `id` is the request id. */
  request(frame) {
    const id = frame.id || `${this.prefix}${++this.ids}`;
    const full = { ...frame, id };
    const problem = typeof frame.text === "string" && ["send", "leave_message"].includes(frame.type)
      ? tooLong(frame.text) : null;
    const promise = new Promise((resolve, reject) => {
      if (problem) {
        reject(problem);
        return;
      }
      this.pending.set(id, { frame: full, resolve, reject });
      if (this.ready) this.raw(full);
    });
    promise.id = id;
    return promise;
  }

  /** The requests that have no answer yet, as sent (with their ids). */
  pendingFrames() {
    return [...this.pending.values()].map((p) => p.frame);
  }

  /** A message that gets no reply (typing, bye). Dropped while disconnected. */
  send(frame) {
    return this.ready && this.raw(frame);
  }

  stop() {
    this.stopped = true;
    this.ready = false;
    clearTimeout(this.watchdog);
    clearTimeout(this.retry);
    clearTimeout(this.ackTimer);
    if (this.ws) this.ws.close(1000);
  }
}

// ------------------------------------------------------------------ words

const number = (n) => n.toLocaleString("en-US");
const chars = (text) => [...text].length; // code points, as the server counts
const after = (seconds) => `try again in ${Math.max(1, Math.ceil(seconds || 1))} s`;

/** The local refusal of a text over MAX_TEXT_CHARS (null if it fits). */
function tooLong(text) {
  const length = chars(text);
  if (length <= MAX_TEXT_CHARS) return null;
  return { type: "error", code: "too_long", length, limit: MAX_TEXT_CHARS };
}

/** Why a chat text cannot be sent, in words ("Too long: 4,312 characters; the limit is
 * 4,000"), or null if it can. Pages check before sending and keep the text. */
export function textProblem(text) {
  const error = tooLong(text);
  return error ? sentence(describeError(error)) : null;
}

/** First letter upper case: words that stand alone. */
export function sentence(words) {
  return words ? words[0].toUpperCase() + words.slice(1) : words;
}

// What each request acts on, for not_found / illegal_state / forbidden.
const OBJECT = {
  accept: "call", decline: "call", hangup: "call", call: "call",
  send: "chat", typing: "chat", close: "chat", join: "chat", decline_join: "chat",
  invite_operator: "chat", invitation_reply: "invitation", cancel_invitation: "invitation",
  invite_visitor: "visitor",
};

/**
 * Plain words (lower case first, to follow "Not sent: " or "Could not accept: ") for a
 * refused request: `error` is the error frame, `frame` the request it answers.
 */
export function describeError(error, frame = {}) {
  const message = error.message || "";
  const what = OBJECT[frame.type] || "it";
  const the = what === "it" ? "it" : `this ${what}`;
  const limitMatch = /length <= (\d+)/.exec(message);
  if (error.code === "too_long"
      || (error.code === "invalid_field" && limitMatch && /`\$\.text`/.test(message))
      || (error.code === "too_large" && typeof frame.text === "string")) {
    const length = error.length || (typeof frame.text === "string" ? chars(frame.text) : null);
    const limit = error.limit || (limitMatch ? Number(limitMatch[1]) : MAX_TEXT_CHARS);
    return length ? `too long: ${number(length)} characters; the limit is ${number(limit)}`
      : `too long; the limit is ${number(limit)} characters`;
  }
  switch (error.code) {
    case "rate_limited":
      return `you are sending too fast; ${after(error.retry_after)}`;
    case "server_busy":
      return `the server is busy; ${after(error.retry_after)}`;
    case "internal":
      return "the server failed; try again";
    case "not_found":
      return what === "visitor" ? "this visitor has left the site" : `${the} no longer exists`;
    case "illegal_state": {
      const state = (/in state '(\w+)'/.exec(message) || [])[1];
      if (what === "visitor" && state === "chatting") return "this visitor is already chatting";
      if (what === "visitor" && state === "busy") return "this visitor is already invited or calling";
      if (what === "call" && state === "accepted") return "another operator took this call";
      if (what === "call" && state === "abandoned") return "the visitor hung up";
      return `${the} has already ended`;
    }
    case "forbidden":
      if (what === "call") return "this call is not ringing at your console";
      if (what === "chat") return "you are not in this chat";
      return `${the} is not yours`;
    case "limit_reached":
      return message || "a limit is reached";
    case "auth_failed":
    case "not_authenticated":
      return "you are not logged in; log in again";
    case "invalid_field":
      return "something in it is not valid";
    case "bad_frame":
    case "unknown_type":
    case "too_large":
      return "the server cannot read it";
    default:
      return message || error.code || "unknown error";
  }
}

// ------------------------------------------------------------------ login

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

/** Log out: the token stops working and every session opened with it ends at once,
 * connected or waiting in its grace period. Then the page reloads (to its login form),
 * unless `reload` is false. Resolves false if the server could not be told. */
export async function logOut({ reload = true } = {}) {
  const token = sessionStorage.getItem("ringlab.token");
  sessionStorage.removeItem("ringlab.token");
  let told = !token;
  if (token) {
    try {
      const response = await fetch("/api/logout", {
        method: "POST", headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000),
      });
      told = response.ok;
    } catch {
      told = false; // the server is unreachable (or did not answer in 5 s)
    }
  }
  if (reload) location.reload();
  return told;
}
