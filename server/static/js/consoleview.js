// The Operator Console's drawing: tabs, the chat pane, visitors, operators, the ring
// sound, the connection bar and the message box. console.js owns the state and calls
// render() after every change; the listeners here call back into console.js through
// `act` (the message box sends through the state's client itself).

import { describeError, el, patch, textProblem } from "./client.js";

const $ = (id) => document.getElementById(id);

/** What each notice effect of the tab machine (tabstate.js) says. */
export const NOTICE_TEXT = {
  taken: "Taken by another operator",
  visitor_left: "The visitor left",
  missed: "Nobody answered in time",
  ended: "The chat ended before you joined",
  operator_closed: "Chat closed",
  operator_offline: "Chat ended: operator offline",
  visitor_closed: "The visitor ended the chat",
  you_left: "You left the chat",
  call_gone: "This call ended while you were reconnecting",
  invite_gone: "This invitation ended while you were reconnecting",
  chat_gone: "This chat ended while you were reconnecting",
  checking: "Reconnected: waiting for the server's answer…",
};

let ui = null; // console.js's state
let act = null; // console.js's actions: click(key, event), select(key), ...

export function bindView(state, actions) {
  ui = state;
  act = actions;
  ui.ringer = new Ringer();
}

// ------------------------------------------------------------------ ringing sound

class Ringer {
  // A two-tone loop with WebAudio while any tab rings and the console is not muted.
  constructor() {
    this.ctx = null;
    this.timer = null;
  }
  update() {
    const ringing = !ui.stopped && [...ui.tabs.values()].some((t) => t.sounding && !t.removed);
    const want = ringing && !$("mute").checked;
    if (want && !this.timer) {
      this.beep();
      this.timer = setInterval(() => this.beep(), 1500);
    } else if (!want && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    document.title = ringing ? "Ringing - ringlab Console" : "ringlab Operator Console";
  }
  beep() {
    try {
      this.ctx = this.ctx || new AudioContext();
      for (const [i, freq] of [440, 554].entries()) {
        const osc = this.ctx.createOscillator();
        const gain = this.ctx.createGain();
        gain.gain.value = 0.08;
        osc.frequency.value = freq;
        osc.connect(gain).connect(this.ctx.destination);
        const at = this.ctx.currentTime + i * 0.35;
        osc.start(at);
        osc.stop(at + 0.3);
      }
    } catch {
      // no audio device (headless, or no user gesture yet): the flashing tab remains
    }
  }
}

// ------------------------------------------------------------------ drawing

/** A visitor's latest info, keeping what an older one knew that it lacks (a restored
 * room's visitor has no page until it comes back). */
export function merged(old, next) {
  if (!old || !next || old.id !== next.id) return next || old;
  return { ...old, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== "" && v !== null)) };
}

export function visibleTabs() {
  return [...ui.tabs.values()].filter((t) => !t.removed);
}

function tabTitle(tab) {
  const visitor = tab.info && tab.info.visitor;
  if (!visitor) return tab.room || tab.call || "chat";
  return visitor.title || visitor.url || visitor.id;
}

function noticeText(tab) {
  if (!tab.notice) return null;
  if (tab.notice === "refused") return tab.refusal;
  return NOTICE_TEXT[tab.notice] || tab.notice;
}

export function render() {
  renderTabs();
  renderChat();
  renderOperators(); // its "invite to this chat" follows the active tab
  ui.ringer.update();
}

function renderTabs() {
  patch($("tabs"), visibleTabs().map((tab) => {
    const label = el("span", { class: "label" }, tabTitle(tab));
    // Listeners find their tab by key when clicked (act.click): a tab drawn earlier and
    // kept by patch must act on the tab as it is now.
    const close = el("button", {
      class: "x", title: "Close", "aria-label": "Close", data: { testid: "tab-x" },
      onclick: (e) => { e.stopPropagation(); act.click(tab.key, "click_x"); },
    }, "×");
    const classes = ["tab", `state-${tab.state}`];
    if (tab.sounding) classes.push("ringing");
    if (tab.key === ui.active) classes.push("active");
    if (tab.unread) classes.push("unread");
    return el("div", {
      class: classes.join(" "),
      data: { testid: "tab", key: tab.key, state: tab.state, call: tab.call || "", room: tab.room || "" },
      onclick: () => act.select(tab.key),
    }, label, tab.unread ? el("span", { class: "dot", title: "unread" }, "•") : null, close);
  }));
}

function renderChat() {
  const pane = $("chat");
  const tab = ui.tabs.get(ui.active);
  const compose = $("compose");
  if (!tab || tab.removed) {
    patch(pane, [el("p", { class: "empty" }, "No chats yet. Calls ring here.")]);
    compose.hidden = true;
    return;
  }
  tab.unread = false;
  const visitor = (tab.info && tab.info.visitor) || {};
  const parts = [
    el("div", { class: "visitor-info", data: { testid: "visitor-info" } },
      el("strong", {}, visitor.id || ""), " ", visitor.url || "",
      visitor.pages > 1 ? el("span", { class: "pages", data: { testid: "pages" } },
        ` (${visitor.pages} pages share this visitor id)`) : null),
  ];
  const notice = noticeText(tab);
  if (notice) parts.push(el("p", { class: "notice", data: { testid: "notice" } }, notice));
  if (tab.state === "ringing" || tab.state === "invited") {
    parts.push(el("p", { class: "incoming" },
      tab.state === "ringing" ? "Incoming call" : "You are invited into this chat"));
    parts.push(el("button", {
      class: "accept", data: { testid: "accept", key: tab.key },
      onclick: () => act.click(tab.key, "click_accept"),
    }, tab.state === "ringing" ? "Accept Call" : "Join"));
  }
  if (tab.state === "accepting") parts.push(el("p", { class: "incoming" }, "Accepting…"));
  const log = el("ol", { class: "history", data: { testid: "history" } },
    ...tab.history.map((m) => m.kind === "message"
      ? el("li", { class: `msg from-${m.from.role}`, data: { n: String(m.n) } },
        el("span", { class: "who" }, `${m.from.name}: `), el("span", { class: "text" }, m.text))
      : el("li", { class: "event" }, m.text)),
    ...tab.sending.map((s) => el("li", { class: "msg from-operator pending", data: { testid: "pending", id: s.id } },
      el("span", { class: "who" }, "You: "), el("span", { class: "body" }, s.text),
      el("span", { class: "status" }, " Sending…"))));
  parts.push(log);
  if (tab.typing) parts.push(el("p", { class: "typing" }, `${tab.typing} is typing…`));
  patch(pane, parts);
  log.scrollTop = log.scrollHeight;
  compose.hidden = !(tab.state === "active" && tab.room && !tab.ended);
  const error = $("compose-error");
  error.textContent = tab.composeError || "";
  error.hidden = !tab.composeError;
}

export function renderVisitors() {
  patch($("visitors"), [...ui.visitors.values()].map((v) => {
    const minutes = Math.max(0, Math.round((Date.now() / 1000 - v.arrived_at) / 60));
    return el("li", { data: { testid: "visitor", visitor: v.id } },
      el("span", { class: "page" }, v.title || v.url), " ",
      el("span", { class: "time" }, `${minutes} min`), " ",
      el("button", { data: { testid: "invite-visitor", visitor: v.id }, onclick: () => act.inviteVisitor(v.id) },
        "Invite"));
  }));
}

function renderOperators() {
  const tab = ui.tabs.get(ui.active);
  const room = tab && !tab.removed && tab.state === "active" && !tab.ended ? tab.room : null;
  patch($("operators"), [...ui.operators.values()].map((o) =>
    el("li", { class: `op ${o.status}`, data: { testid: "operator", status: o.status, name: o.name } },
      `${o.name} (${o.status})`, " ",
      room && ui.me && o.id !== ui.me.id && o.status === "online"
        ? el("button", {
          data: { testid: "invite-operator", operator: o.id, room }, title: "Invite to this chat",
          onclick: () => act.inviteOperator(room, o.id),
        }, "Invite to this chat")
        : null)));
}

export function setConnection(state) {
  const bar = $("connection");
  bar.hidden = state === "online";
  bar.dataset.state = state;
  bar.textContent = state === "reconnecting" ? "Connection lost — reconnecting…"
    : state === "closed" ? "Disconnected. Reload the page to log in again." : "Connecting…";
}

export function showStatus(status) {
  const link = $("status");
  link.dataset.status = status;
  link.textContent = status === "away" ? "Away" : "Online";
  link.title = status === "away" ? "Click to go Online" : "Click to go Away";
}

// ------------------------------------------------------------------ the message box

/** Wire the message box of the active tab: typing notices; a text too long is said and
 * stays; a sent one shows as "Sending…" until its ok; a refused one is said in words and
 * given back. */
export function bindCompose() {
  const input = $("text");
  let typing = false;
  input.addEventListener("input", () => {
    const tab = ui.tabs.get(ui.active);
    const on = input.value.length > 0;
    if (tab && tab.composeError) {
      tab.composeError = null;
      render();
    }
    if (tab && tab.room && on !== typing) {
      typing = on;
      ui.client.send({ type: "typing", room: tab.room, on });
    }
  });
  $("compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const tab = ui.tabs.get(ui.active);
    const text = input.value.trim();
    if (!tab || !tab.room || !text) return;
    tab.composeError = textProblem(text);
    if (tab.composeError) {
      render();
      return;
    }
    input.value = "";
    typing = false;
    const frame = { type: "send", room: tab.room, text };
    const sent = ui.client.request(frame);
    tab.sending.push({ id: sent.id, text });
    const settled = () => { tab.sending = tab.sending.filter((s) => s.id !== sent.id); };
    sent.then(settled, (error) => {
      settled();
      if (!input.value) input.value = text;
      tab.composeError = `Not sent: ${describeError(error, frame)}`;
    }).finally(render);
    render();
  });
}
