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

// ------------------------------------------------------------------ telling visitors apart

const CODE_LETTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // no 0/O, 1/I: read out loud

/** A short name for a visitor, the same at every console and across reloads: "Visitor
 * 7KQM", from its id (FNV-1a), since the protocol gives visitors no name. */
export function visitorName(id) {
  if (!id) return "Visitor";
  let hash = 2166136261;
  for (const ch of id) hash = Math.imul(hash ^ ch.codePointAt(0), 16777619) >>> 0;
  let code = "";
  for (let i = 0; i < 4; i += 1) {
    code += CODE_LETTERS[hash % 32];
    hash = Math.floor(hash / 32);
  }
  return `Visitor ${code}`;
}

/** The page a visitor is on, in words: its title, else its path, else that it left. */
export function pageName(visitor) {
  if (!visitor) return "";
  if (visitor.title) return visitor.title;
  if (visitor.url) {
    try {
      const url = new URL(visitor.url);
      return `${url.pathname}${url.search}`;
    } catch {
      return visitor.url;
    }
  }
  return visitor.pages === 0 ? "left the site" : "";
}

/** How long ago `at` (server seconds) was: "under 1 min", "3 min", "1 h 5 min". */
export function since(at, now = Date.now() / 1000) {
  const minutes = Math.floor(Math.max(0, now - at) / 60);
  if (minutes < 1) return "under 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function onSite(visitor) {
  return visitor && visitor.arrived_at && visitor.pages !== 0 ? since(visitor.arrived_at) : null;
}

function tabVisitor(tab) {
  return (tab.info && tab.info.visitor) || null;
}

function noticeText(tab) {
  if (!tab.notice) return null;
  if (tab.notice === "refused") return tab.refusal;
  return NOTICE_TEXT[tab.notice] || tab.notice;
}

/** "Visitor is typing…", "Visitor and Bob are typing…" (the others in this tab's chat). */
function typingText(tab) {
  const names = Object.values(tab.typing || {});
  if (!names.length) return null;
  return `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} typing…`;
}

/** Say `text` to screen readers (a polite live region). */
export function announce(text) {
  const region = $("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

export function render() {
  renderTabs();
  renderChat();
  renderOperators(); // its "invite to this chat" follows the active tab
  ui.ringer.update();
}

// ------------------------------------------------------------------ the tab strip

/** The tab strip is an ARIA tablist: one tab stop (the shown tab), arrow keys, Home and
 * End move between tabs, Enter or Space shows the focused one, Delete is its X. The X is
 * for the mouse; the chat pane has the same action as a button. */
const tabId = (key) => `tab-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;

function renderTabs() {
  const strip = $("tabs");
  const focused = document.activeElement && document.activeElement.closest
    ? document.activeElement.closest("[role=tab]") : null;
  const focusedKey = focused && strip.contains(focused) ? focused.dataset.key : null;
  patch(strip, visibleTabs().map((tab) => {
    const visitor = tabVisitor(tab);
    const selected = tab.key === ui.active;
    const label = el("span", { class: "label" }, visitor ? pageName(visitor) : tab.room || tab.call || "chat");
    const who = el("span", { class: "who" }, visitor ? visitorName(visitor.id) : "Chat");
    const states = [];
    if (tab.sounding) states.push("ringing");
    if (tab.unread) states.push("unread");
    // Listeners find their tab by key when clicked (act.click): a tab drawn earlier and
    // kept by patch must act on the tab as it is now.
    const button = el("div", {
      role: "tab", id: tabId(tab.key), class: "tab-button", tabindex: selected ? "0" : "-1",
      "aria-selected": String(selected), "aria-controls": "chat", data: { key: tab.key },
      onclick: () => act.select(tab.key),
    }, el("span", { class: "names" }, who, label),
    tab.unread ? el("span", { class: "dot", "aria-hidden": "true" }, "•") : null,
    states.length ? el("span", { class: "visually-hidden" }, `, ${states.join(", ")}`) : null);
    const close = el("span", {
      class: "x", title: closeLabel(tab), "aria-hidden": "true", data: { testid: "tab-x" },
      onclick: (e) => { e.stopPropagation(); act.click(tab.key, "click_x"); },
    }, "×");
    const classes = ["tab", `state-${tab.state}`];
    if (tab.sounding) classes.push("ringing");
    if (selected) classes.push("active");
    if (tab.unread) classes.push("unread");
    return el("div", {
      class: classes.join(" "), role: "presentation",
      data: { testid: "tab", key: tab.key, state: tab.state, call: tab.call || "", room: tab.room || "" },
    }, button, close);
  }));
  // A redraw must not drop the keyboard focus: back onto the same tab, or the shown one.
  if (focusedKey !== null && !(document.activeElement && document.activeElement.closest
      && document.activeElement.closest("[role=tab]"))) {
    const again = strip.querySelector(`[role=tab][data-key="${CSS.escape(focusedKey)}"]`)
      || strip.querySelector("[role=tab][aria-selected=true]");
    if (again) again.focus();
  }
}

/** What X does on this tab, in words (its title, and the chat pane's button). */
function closeLabel(tab) {
  if (tab.state === "ringing" || tab.state === "invited") return "Decline";
  if (tab.state === "active") return "Close chat";
  return "Close tab";
}

function bindTabKeys() {
  const strip = $("tabs");
  strip.addEventListener("keydown", (e) => {
    const current = e.target.closest("[role=tab]");
    if (!current) return;
    const tabs = [...strip.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(current);
    let next = null;
    switch (e.key) {
      case "ArrowRight": case "ArrowDown": next = tabs[(at + 1) % tabs.length]; break;
      case "ArrowLeft": case "ArrowUp": next = tabs[(at - 1 + tabs.length) % tabs.length]; break;
      case "Home": next = tabs[0]; break;
      case "End": next = tabs[tabs.length - 1]; break;
      case "Enter": case " ":
        e.preventDefault();
        act.select(current.dataset.key);
        return;
      case "Delete":
        e.preventDefault();
        act.click(current.dataset.key, "click_x");
        return;
      default:
        return;
    }
    e.preventDefault();
    next.focus();
  });
}

// ------------------------------------------------------------------ the chat pane

/** Messages by their number, each event (joined, left) after the message it followed on
 * the server's stream: in the order the server told them. */
function ordered(history) {
  const anchor = (m) => (m.kind === "message" ? m.n : m.after);
  return [...history].sort((a, b) => anchor(a) - anchor(b)
    || (a.kind === "message" ? 0 : 1) - (b.kind === "message" ? 0 : 1)
    || (a.order || 0) - (b.order || 0));
}

function visitorLine(visitor) {
  const time = onSite(visitor);
  return el("div", { class: "visitor-info", data: { testid: "visitor-info" } },
    el("strong", { class: "vname" }, visitorName(visitor.id)), " ",
    el("span", { class: "vpage" }, pageName(visitor)),
    visitor.url ? el("span", { class: "url" }, ` ${visitor.url}`) : null,
    time ? el("span", { class: "time", data: { testid: "visitor-time" } }, ` · on the site ${time}`) : null,
    visitor.referrer ? el("span", { class: "url" }, ` · came from ${visitor.referrer}`) : null,
    visitor.pages > 1 ? el("span", { class: "pages", data: { testid: "pages" } },
      ` (${visitor.pages} pages share this visitor id)`) : null);
}

let shownKey = null; // the tab whose draft the message box holds

function renderChat() {
  const pane = $("chat");
  const tab = ui.tabs.get(ui.active);
  const compose = $("compose");
  const input = $("text");
  if (!tab || tab.removed) {
    patch(pane, [el("p", { class: "empty" }, "No chats yet. Calls ring here.")]);
    pane.removeAttribute("aria-labelledby");
    compose.hidden = true;
    typingIn(ui.tabs.get(shownKey), false);
    shownKey = null;
    return;
  }
  // Read at the bottom, the pane follows new lines; scrolled up, it stays where it is.
  let follow = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  if (shownKey !== tab.key) { // another tab shown: the message box holds its own draft
    typingIn(ui.tabs.get(shownKey), false); // not typing there any more
    shownKey = tab.key;
    input.value = tab.draft || "";
    follow = true;
  }
  pane.setAttribute("aria-labelledby", tabId(tab.key));
  tab.unread = false;
  const head = [visitorLine(tabVisitor(tab) || {})];
  if (tab.state === "active" || tab.state === "closed" || tab.state === "dismissed" || tab.state === "none") {
    head.push(el("button", {
      class: "close-chat", data: { testid: "panel-x", key: tab.key },
      onclick: () => act.click(tab.key, "click_x"),
    }, closeLabel(tab)));
  }
  const parts = [el("div", { class: "chat-head" }, ...head)];
  const notice = noticeText(tab);
  if (notice) parts.push(el("p", { class: "notice", data: { testid: "notice" } }, notice));
  if (tab.state === "ringing" || tab.state === "invited") {
    parts.push(el("p", { class: "incoming" },
      tab.state === "ringing" ? "Incoming call" : "You are invited into this chat"));
    parts.push(el("div", { class: "actions" },
      el("button", {
        class: "accept", data: { testid: "accept", key: tab.key },
        onclick: () => act.click(tab.key, "click_accept"),
      }, tab.state === "ringing" ? "Accept Call" : "Join"), " ",
      el("button", {
        class: "decline", data: { testid: "panel-x", key: tab.key },
        onclick: () => act.click(tab.key, "click_x"),
      }, "Decline")));
  }
  if (tab.state === "accepting") parts.push(el("p", { class: "incoming" }, "Accepting…"));
  const log = el("ol", { class: "history", data: { testid: "history" } },
    ...ordered(tab.history).map((m) => m.kind === "message"
      ? el("li", { class: `msg from-${m.from.role}`, data: { n: String(m.n) } },
        el("span", { class: "who" }, `${m.from.name}: `), el("span", { class: "text" }, m.text))
      : el("li", { class: "event", data: { testid: "event" } }, m.text)),
    ...tab.sending.map((s) => el("li", { class: "msg from-operator pending", data: { testid: "pending", id: s.id } },
      el("span", { class: "who" }, "You: "), el("span", { class: "body" }, s.text),
      el("span", { class: "status" }, " Sending…"))));
  parts.push(log);
  const typing = typingText(tab);
  if (typing) parts.push(el("p", { class: "typing", data: { testid: "typing" } }, typing));
  patch(pane, parts);
  if (follow) pane.scrollTop = pane.scrollHeight;
  compose.hidden = !(tab.state === "active" && tab.room && !tab.ended);
  const error = $("compose-error");
  error.textContent = tab.composeError || "";
  error.hidden = !tab.composeError;
  if (tab.focusInput && !compose.hidden) { // after Accept: straight to the message box
    tab.focusInput = false;
    input.focus();
  }
}

// ------------------------------------------------------------------ the sidebar

export function renderVisitors() {
  patch($("visitors"), [...ui.visitors.values()].map((v) => {
    const name = visitorName(v.id);
    const note = ui.visitorNotes.get(v.id);
    return el("li", { class: "visitor", data: { testid: "visitor", visitor: v.id } },
      el("div", { class: "vline" },
        el("strong", { class: "vname", data: { testid: "visitor-name" } }, name),
        el("button", {
          class: "invite", "aria-label": `Invite ${name}`,
          data: { testid: "invite-visitor", visitor: v.id }, onclick: () => act.inviteVisitor(v.id),
        }, "Invite")),
      el("div", { class: "vline" },
        el("span", { class: "page", title: v.url || "", data: { testid: "visitor-page" } }, pageName(v)),
        el("span", { class: "time", title: "Time on the site", data: { testid: "visitor-time" } }, since(v.arrived_at))),
      note ? el("p", { class: "vnote", data: { testid: "visitor-note" } }, note) : null);
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
          "aria-label": `Invite ${o.name} to this chat`,
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

/** Tell the others in `tab`'s chat whether this operator is typing there (once per change). */
function typingIn(tab, on) {
  if (!tab || !tab.room || Boolean(tab.typingSent) === on) return;
  tab.typingSent = on;
  const open = tab.state === "active" && !tab.ended && !tab.removed; // else: nobody to tell
  if (open && ui.client) ui.client.send({ type: "typing", room: tab.room, on });
}

/** Wire the message box. It is one box for every tab, holding the shown tab's draft: each
 * tab keeps its own (a draft typed for visitor A stays A's when B is shown, and Enter
 * sends to the tab shown). Typing notices go to the tab typed in; a text too long is said
 * and stays; a sent one shows as "Sending…" until its ok; a refused one is said in words
 * and given back to its tab. */
export function bindCompose() {
  const input = $("text");
  input.addEventListener("input", () => {
    const tab = ui.tabs.get(shownKey);
    if (!tab) return;
    tab.draft = input.value;
    if (tab.composeError) {
      tab.composeError = null;
      render();
    }
    typingIn(tab, input.value.length > 0);
  });
  $("compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const tab = ui.tabs.get(shownKey);
    const text = input.value.trim();
    if (!tab || !tab.room || !text) return;
    tab.composeError = textProblem(text);
    if (tab.composeError) {
      render();
      return;
    }
    input.value = "";
    tab.draft = "";
    tab.typingSent = false; // the message ends the typing notice where it lands
    const frame = { type: "send", room: tab.room, text };
    const sent = ui.client.request(frame);
    tab.sending.push({ id: sent.id, text });
    const settled = () => { tab.sending = tab.sending.filter((s) => s.id !== sent.id); };
    sent.then(settled, (error) => {
      settled();
      if (!tab.draft) { // given back to the tab it was written in
        tab.draft = text;
        if (shownKey === tab.key) input.value = text;
      }
      tab.composeError = `Not sent: ${describeError(error, frame)}`;
    }).finally(render);
    render();
  });
  bindTabKeys();
}
