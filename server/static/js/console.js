// The Operator Console: login, presence, visitors, one tab per chat, ringing.
// Tab behaviour comes from tabstate.js; this file only draws and talks.

import { Client, el, logOut, loginForm, patch } from "./client.js";
import { step } from "./tabstate.js";

const $ = (id) => document.getElementById(id);
const REMOVE_AFTER = 4000; // ms a tab that explains itself stays ("taken", ...)
const NOTICE_TEXT = {
  taken: "Taken by another operator",
  visitor_left: "The visitor left",
  missed: "Nobody answered in time",
  ended: "The chat ended before you joined",
  operator_closed: "Chat closed",
  operator_offline: "Chat ended: operator offline",
  visitor_closed: "The visitor ended the chat",
  you_left: "You left the chat",
};

const ui = {
  client: null,
  me: null,
  policy: localStorage.getItem("ringlab.policy") || "confirm",
  tabs: new Map(), // key -> tab
  roomTab: new Map(), // room id -> tab key
  active: null, // key of the shown tab
  visitors: new Map(),
  operators: new Map(),
  ringer: null,
};

// ------------------------------------------------------------------ ringing sound

class Ringer {
  // A two-tone loop with WebAudio while any tab rings and the console is not muted.
  constructor() {
    this.ctx = null;
    this.timer = null;
  }
  update() {
    const ringing = [...ui.tabs.values()].some((t) => t.sounding);
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

// ------------------------------------------------------------------ tabs

function tabFor(key, info) {
  let tab = ui.tabs.get(key);
  if (!tab) {
    tab = { key, state: "none", sounding: false, room: null, call: null, info, history: [],
            unread: false, notice: null, typing: null, ended: false };
    ui.tabs.set(key, tab);
  }
  if (info) tab.info = { ...tab.info, ...info };
  return tab;
}

function fire(tab, event) {
  const result = step(ui.policy, tab.state, event);
  tab.state = result.state;
  for (const effect of result.effects) perform(tab, effect);
  render();
}

function perform(tab, effect) {
  const [name, arg] = effect.split(":");
  switch (name) {
    case "open_tab":
      if (!ui.active || !ui.tabs.has(ui.active)) ui.active = tab.key;
      break;
    case "start_ring":
      tab.sounding = true;
      break;
    case "stop_ring":
      tab.sounding = false;
      break;
    case "send_accept":
      ui.client.request({ type: "accept", call: tab.call }).catch(() => {
        fire(tab, { type: "accept_failed" });
      });
      ui.active = tab.key;
      break;
    case "send_decline":
      ui.client.request({ type: "decline", call: tab.call }).catch(() => {});
      break;
    case "send_join":
      ui.client.request({ type: "join", room: tab.room }).catch(() => {
        fire(tab, { type: "room_invite_ended", reason: "room_closed" });
      });
      ui.active = tab.key;
      break;
    case "send_decline_join":
      ui.client.request({ type: "decline_join", room: tab.room }).catch(() => {});
      break;
    case "send_close":
      ui.client.request({ type: "close", room: tab.room }).catch(() => {});
      break;
    case "notice":
      tab.notice = NOTICE_TEXT[arg] || arg;
      break;
    case "remove_tab":
      removeTab(tab);
      break;
    case "remove_tab_later":
      setTimeout(() => {
        if (ui.tabs.get(tab.key) === tab && tab.state === "dismissed") removeTab(tab);
        render();
      }, REMOVE_AFTER);
      break;
    case "open_chat":
      tab.ended = false;
      break;
    case "end_chat":
      tab.ended = true;
      tab.typing = null;
      break;
    default:
      break;
  }
}

function removeTab(tab) {
  tab.removed = true;
  tab.sounding = false;
  if (ui.active === tab.key) {
    const others = [...ui.tabs.values()].filter((t) => !t.removed && t !== tab);
    ui.active = others.length ? others[others.length - 1].key : null;
  }
}

function visibleTabs() {
  return [...ui.tabs.values()].filter((t) => !t.removed);
}

function tabTitle(tab) {
  const visitor = tab.info && tab.info.visitor;
  if (!visitor) return tab.room || tab.call || "chat";
  return visitor.title || visitor.url || visitor.id;
}

// ------------------------------------------------------------------ drawing

function render() {
  renderTabs();
  renderChat();
  renderOperators(); // its "invite to this chat" follows the active tab
  ui.ringer.update();
}

// Listeners find their tab by key when clicked: a tab drawn earlier and kept by patch
// must act on the tab as it is now.
function withTab(key, f) {
  const tab = ui.tabs.get(key);
  if (tab && !tab.removed) f(tab);
}

function renderTabs() {
  const nav = $("tabs");
  patch(nav, visibleTabs().map((tab) => {
    const label = el("span", { class: "label" }, tabTitle(tab));
    const close = el("button", {
      class: "x", title: "Close", "aria-label": "Close", data: { testid: "tab-x" },
      onclick: (e) => { e.stopPropagation(); withTab(tab.key, (t) => fire(t, { type: "click_x" })); },
    }, "×");
    const classes = ["tab", `state-${tab.state}`];
    if (tab.sounding) classes.push("ringing");
    if (tab.key === ui.active) classes.push("active");
    if (tab.unread) classes.push("unread");
    return el("div", {
      class: classes.join(" "),
      data: { testid: "tab", key: tab.key, state: tab.state, call: tab.call || "", room: tab.room || "" },
      onclick: () => withTab(tab.key, (t) => { ui.active = t.key; t.unread = false; render(); }),
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
    el("div", { class: "visitor-info" },
      el("strong", {}, visitor.id || ""), " ", visitor.url || "",
      visitor.pages > 1 ? el("span", { class: "pages", data: { testid: "pages" } },
        ` (${visitor.pages} pages share this visitor id)`) : null),
  ];
  if (tab.notice) parts.push(el("p", { class: "notice", data: { testid: "notice" } }, tab.notice));
  if (tab.state === "ringing" || tab.state === "invited") {
    parts.push(el("p", { class: "incoming" },
      tab.state === "ringing" ? "Incoming call" : "You are invited into this chat"));
    parts.push(el("button", {
      class: "accept", data: { testid: "accept", key: tab.key },
      onclick: () => withTab(tab.key, (t) => fire(t, { type: "click_accept" })),
    }, tab.state === "ringing" ? "Accept Call" : "Join"));
  }
  if (tab.state === "accepting") parts.push(el("p", { class: "incoming" }, "Accepting…"));
  const log = el("ol", { class: "history", data: { testid: "history" } },
    ...tab.history.map((m) => m.kind === "message"
      ? el("li", { class: `msg from-${m.from.role}`, data: { n: String(m.n) } },
        el("span", { class: "who" }, `${m.from.name}: `), el("span", { class: "text" }, m.text))
      : el("li", { class: "event" }, m.text)));
  parts.push(log);
  if (tab.typing) parts.push(el("p", { class: "typing" }, `${tab.typing} is typing…`));
  patch(pane, parts);
  log.scrollTop = log.scrollHeight;
  compose.hidden = !(tab.state === "active" && tab.room && !tab.ended);
}

function renderVisitors() {
  patch($("visitors"), [...ui.visitors.values()].map((v) => {
    const minutes = Math.max(0, Math.round((Date.now() / 1000 - v.arrived_at) / 60));
    return el("li", { data: { testid: "visitor", visitor: v.id } },
      el("span", { class: "page" }, v.title || v.url), " ",
      el("span", { class: "time" }, `${minutes} min`), " ",
      el("button", {
        data: { testid: "invite-visitor" },
        onclick: () => ui.client.request({ type: "invite_visitor", visitor: v.id, text: "Hello! Can I help you?" }).catch(() => {}),
      }, "Invite"));
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
          onclick: () => ui.client.request({ type: "invite_operator", room, operator: o.id }).catch(() => {}),
        }, "Invite to this chat")
        : null)));
}

function setConnection(state) {
  const bar = $("connection");
  bar.hidden = state === "online";
  bar.dataset.state = state;
  bar.textContent = state === "reconnecting" ? "Connection lost — reconnecting…"
    : state === "closed" ? "Disconnected. Reload the page to log in again." : "Connecting…";
}

// ------------------------------------------------------------------ events

function historyItem(message) {
  return { kind: "message", n: message.n, from: message.from, text: message.text };
}

function openRoom(room) {
  let key = ui.roomTab.get(room.room) || (room.call ? `call:${room.call}` : null);
  if (!key || !ui.tabs.has(key)) key = `room:${room.room}`;
  const tab = tabFor(key, { visitor: room.visitor });
  tab.room = room.room;
  tab.call = tab.call || room.call || null;
  tab.history = room.messages.map(historyItem);
  ui.roomTab.set(room.room, key);
  fire(tab, { type: "room_opened" });
}

function roomTabOf(roomId) {
  const key = ui.roomTab.get(roomId);
  return key ? ui.tabs.get(key) : null;
}

function onEvent(ev) {
  switch (ev.type) {
    case "welcome":
      if (ev.operator) ui.me = ev.operator;
      $("me-name").textContent = ui.me ? ui.me.name : "";
      break;
    case "snapshot": {
      ui.me = ev.me;
      $("me-name").textContent = ev.me.name;
      showStatus(ev.me.status);
      ui.visitors = new Map(ev.visitors.map((v) => [v.id, v]));
      ui.operators = new Map(ev.operators.map((o) => [o.id, o]));
      // a snapshot replaces what this console knew: rebuild the tabs from it
      ui.tabs = new Map([...ui.tabs].filter(([, t]) => t.state === "dismissed"));
      for (const ring of ev.rings) onEvent({ ...ring, type: "ring" });
      for (const room of ev.rooms) openRoom(room);
      for (const invite of ev.room_invites) onEvent({ type: "room_invite", invite });
      renderVisitors();
      renderOperators();
      break;
    }
    case "ring": {
      const tab = tabFor(`call:${ev.call}`, { visitor: ev.visitor });
      tab.call = ev.call;
      fire(tab, { type: "ring" });
      break;
    }
    case "ring_stop": {
      const tab = ui.tabs.get(`call:${ev.call}`);
      if (tab) fire(tab, { type: "ring_stop", reason: ev.reason });
      break;
    }
    case "room_opened":
      openRoom(ev.room);
      break;
    case "room_closed": {
      const tab = roomTabOf(ev.room);
      if (tab) fire(tab, { type: "room_closed", reason: ev.reason });
      break;
    }
    case "room_invite": {
      const key = `room:${ev.invite.room}`;
      const tab = tabFor(key, { visitor: ev.invite.visitor });
      tab.room = ev.invite.room;
      ui.roomTab.set(ev.invite.room, key);
      fire(tab, { type: "room_invite" });
      break;
    }
    case "room_invite_ended": {
      const tab = roomTabOf(ev.room);
      if (tab) fire(tab, { type: "room_invite_ended", reason: ev.reason });
      break;
    }
    case "message": {
      const tab = roomTabOf(ev.room);
      if (!tab) break;
      if (!tab.history.some((m) => m.kind === "message" && m.n === ev.n)) {
        tab.history.push(historyItem(ev));
        tab.history.sort((a, b) => (a.n || 0) - (b.n || 0));
      }
      if (ev.from.role === "visitor") tab.typing = null;
      if (ui.active !== tab.key) tab.unread = true;
      render();
      break;
    }
    case "typing": {
      const tab = roomTabOf(ev.room);
      if (tab && ev.from.id !== (ui.me && ui.me.id)) {
        tab.typing = ev.on ? ev.from.name : null;
        render();
      }
      break;
    }
    case "participant_joined":
    case "participant_left": {
      const tab = roomTabOf(ev.room);
      if (tab && ev.who.id !== ui.me.id) {
        const verb = ev.type === "participant_joined" ? "joined" : "left";
        tab.history.push({ kind: "event", text: `${ev.who.name} ${verb} the chat` });
        render();
      }
      break;
    }
    case "operator_status":
      ui.operators.set(ev.operator.id, ev.operator);
      if (ui.me && ev.operator.id === ui.me.id) showStatus(ev.operator.status);
      render();
      break;
    case "visitor_arrived":
      ui.visitors.set(ev.visitor.id, ev.visitor);
      renderVisitors();
      break;
    case "visitor_left":
      ui.visitors.delete(ev.visitor);
      renderVisitors();
      break;
    case "closed":
      if (ev.code === 4401) logout();
      break;
    default:
      break;
  }
}

function showStatus(status) {
  const link = $("status");
  link.dataset.status = status;
  link.textContent = status === "away" ? "Away" : "Online";
  link.title = status === "away" ? "Click to go Online" : "Click to go Away";
}

// ------------------------------------------------------------------ start

function start(token) {
  $("login").hidden = true;
  $("app").hidden = false;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/operator`;
  ui.client = new Client(url, () => ({ token }), onEvent, setConnection);
  ui.client.connect();
}

async function logout() {
  if (ui.client) ui.client.stop();
  await logOut();
}

function init() {
  ui.ringer = new Ringer();
  $("policy").value = ui.policy;
  $("policy").addEventListener("change", () => {
    ui.policy = $("policy").value;
    localStorage.setItem("ringlab.policy", ui.policy);
  });
  $("mute").addEventListener("change", () => ui.ringer.update());
  loginForm(start);
  $("logout").addEventListener("click", (e) => { e.preventDefault(); logout(); });
  $("status").addEventListener("click", (e) => {
    e.preventDefault();
    const next = $("status").dataset.status === "away" ? "online" : "away";
    ui.client.request({ type: "set_status", status: next }).then(() => showStatus(next)).catch(() => {});
  });
  let typingSent = false;
  $("text").addEventListener("input", () => {
    const tab = ui.tabs.get(ui.active);
    const on = $("text").value.length > 0;
    if (tab && tab.room && on !== typingSent) {
      typingSent = on;
      ui.client.send({ type: "typing", room: tab.room, on });
    }
  });
  $("compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const tab = ui.tabs.get(ui.active);
    const text = $("text").value.trim();
    if (!tab || !tab.room || !text) return;
    $("text").value = "";
    typingSent = false;
    ui.client.request({ type: "send", room: tab.room, text }).catch(() => {});
  });
  const token = sessionStorage.getItem("ringlab.token");
  if (token) start(token);
}

init();
