// The Operator Console: login, presence, visitors, one tab per chat, ringing.
// Tab behaviour comes from tabstate.js, carried out by consoletabs.js; drawing from
// consoleview.js; this file keeps the state, takes the server's events and the
// operator's actions, and talks to the server.

import { $, Client, describeError, logOut, loginForm } from "./client.js";
import {
  bindTabs, fire, historyItem, merged, openRoom, ring, roomInvite, roomTabOf,
} from "./consoletabs.js";
import {
  announce, bindCompose, bindTabKeys, bindView, render, renderVisitors, setConnection,
  showStatus, visibleTabs, visitorName,
} from "./consoleview.js";

const CLOCK_EVERY = 20000; // ms between redraws of the visitors' time on the site
const POLICY_HINT = {
  confirm: "The tab rings until the server confirms your Accept.",
  optimistic: "The ring stops as soon as you click Accept.",
};

const ui = {
  client: null,
  me: null,
  policy: localStorage.getItem("ringlab.policy") || "confirm",
  tabs: new Map(), // key -> tab
  roomTab: new Map(), // room id -> tab key
  active: null, // key of the shown tab
  visitors: new Map(),
  visitorNotes: new Map(), // visitor id -> what inviting it did ("Invitation sent", why not)
  order: 0, // events (joined, left) in the order they came
  operators: new Map(),
  ringer: null,
  stopped: false, // the client stopped for good (logged out, taken over)
  leaving: false, // logging out
};

// ------------------------------------------------------------------ events

function snapshot(ev) {
  ui.me = ev.me;
  $("me-name").textContent = ev.me.name;
  showStatus(ev.me.status);
  ui.visitors = new Map(ev.visitors.map((v) => [v.id, v]));
  ui.operators = new Map(ev.operators.map((o) => [o.id, o]));
  // A snapshot replaces what this console knew: every tab it names is brought in line,
  // every other tab learns that its call, invite or chat is gone (a server restart, a
  // resume after the replay buffer): the ring stops and the tab says why.
  const named = new Set([
    ...ev.rings.map(ring),
    ...ev.rooms.map(openRoom),
    ...ev.room_invites.map(roomInvite),
  ]);
  for (const tab of [...ui.tabs.values()]) {
    if (!named.has(tab.key)) fire(tab, { type: "gone" });
    tab.typing = {};
  }
  renderVisitors();
}

function onEvent(ev) {
  switch (ev.type) {
    case "welcome":
      if (ev.operator) ui.me = ev.operator;
      $("me-name").textContent = ui.me ? ui.me.name : "";
      break;
    case "snapshot":
      snapshot(ev);
      break;
    case "ring":
      ring(ev);
      break;
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
    case "room_invite":
      roomInvite(ev.invite);
      break;
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
      }
      delete tab.typing[ev.from.id]; // a message ends its writer's typing notice
      if (ui.active !== tab.key) tab.unread = true;
      break;
    }
    case "typing": {
      const tab = roomTabOf(ev.room);
      if (tab && ev.from.id !== (ui.me && ui.me.id)) {
        if (ev.on && !tab.ended) tab.typing[ev.from.id] = ev.from.name;
        else delete tab.typing[ev.from.id];
      }
      break;
    }
    case "participant_joined":
    case "participant_left": {
      const tab = roomTabOf(ev.room);
      if (tab && ev.who.id !== ui.me.id) {
        const verb = ev.type === "participant_joined" ? "joined" : "left";
        // After the last message this console has: where it came in the server's stream.
        const after = Math.max(0, ...tab.history.filter((m) => m.kind === "message").map((m) => m.n));
        tab.history.push({ kind: "event", text: `${ev.who.name} ${verb} the chat`, after, order: ++ui.order });
        if (ev.type === "participant_left") delete tab.typing[ev.who.id]; // gone: not typing
      }
      break;
    }
    case "operator_status":
      ui.operators.set(ev.operator.id, ev.operator);
      if (ui.me && ev.operator.id === ui.me.id) showStatus(ev.operator.status);
      break;
    case "visitor_arrived": // arrived, or moved to another page of the site
      ui.visitors.set(ev.visitor.id, ev.visitor);
      for (const tab of ui.tabs.values()) {
        const shown = tab.info && tab.info.visitor;
        if (shown && shown.id === ev.visitor.id) tab.info.visitor = merged(shown, ev.visitor);
      }
      renderVisitors();
      break;
    case "visitor_left":
      ui.visitors.delete(ev.visitor);
      ui.visitorNotes.delete(ev.visitor);
      renderVisitors();
      break;
    case "invitation_result": {
      const words = { accepted: "accepted your invitation", declined: "declined your invitation",
                      cancelled: "invitation cancelled" };
      noteVisitor(ev.visitor, words[ev.result] || ev.result);
      break;
    }
    case "closed":
      ui.stopped = true; // nothing rings at a console that cannot answer
      if (ev.code === 4401) logout();
      break;
    default:
      break;
  }
  render();
}

// ------------------------------------------------------------------ actions

const actions = {
  click(key, type) {
    const tab = ui.tabs.get(key);
    if (tab && !tab.removed) fire(tab, { type });
    render();
  },
  select(key) {
    const tab = ui.tabs.get(key);
    if (tab && !tab.removed) {
      ui.active = key;
      tab.unread = false;
    }
    render();
  },
  /** Invite a visitor on the site; what came of it is said in its row ("Invitation
   * sent", or why not: already chatting, already invited or calling, gone). */
  inviteVisitor(visitor) {
    const chatting = visibleTabs().some((t) => t.state === "active" && !t.ended
      && t.info && t.info.visitor && t.info.visitor.id === visitor);
    if (chatting) {
      noteVisitor(visitor, "already chatting with you");
      return;
    }
    const frame = { type: "invite_visitor", visitor, text: "Hello! Can I help you?" };
    noteVisitor(visitor, "inviting…");
    ui.client.request(frame).then(
      () => noteVisitor(visitor, "invitation sent"),
      (error) => noteVisitor(visitor, `not invited: ${describeError(error, frame)}`),
    );
  },
  inviteOperator(room, operator) {
    ui.client.request({ type: "invite_operator", room, operator }).catch(() => {});
  },
};

function noteVisitor(visitor, words) {
  if (!ui.visitors.has(visitor)) return;
  const text = words[0].toUpperCase() + words.slice(1);
  ui.visitorNotes.set(visitor, text);
  renderVisitors();
  announce(`${visitorName(visitor)}: ${text}`);
}

// ------------------------------------------------------------------ start

function start(token) {
  $("login").hidden = true;
  $("app").hidden = false;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/operator`;
  ui.client = new Client(url, () => ({ token }), onEvent, (state) => ui.leaving || setConnection(state));
  ui.client.connect();
}

/** Log out: the server ends every session of this login first (the operator is offline
 * and stops ringing at once), then the client stops. */
async function logout() {
  if (ui.leaving) return;
  ui.leaving = true;
  const told = await logOut({ reload: false });
  if (ui.client) {
    if (!told) ui.client.send({ type: "bye" }); // the server could not be told: leave at least
    ui.client.stop();
  }
  location.reload();
}

function init() {
  bindView(ui, actions);
  bindTabs(ui);
  $("policy").value = ui.policy;
  $("policy-hint").textContent = POLICY_HINT[ui.policy];
  $("policy").addEventListener("change", () => {
    ui.policy = $("policy").value;
    $("policy-hint").textContent = POLICY_HINT[ui.policy];
    localStorage.setItem("ringlab.policy", ui.policy);
  });
  // Narrow screens: the sidebar folds under its button, so the chat keeps the width.
  $("menu").addEventListener("click", () => {
    const open = $("menu").getAttribute("aria-expanded") !== "true";
    $("menu").setAttribute("aria-expanded", String(open));
    $("side").classList.toggle("open", open);
  });
  setInterval(() => { // the visitors' time on the site goes on
    if (!ui.client) return;
    renderVisitors();
    render();
  }, CLOCK_EVERY);
  $("mute").addEventListener("change", () => ui.ringer.update());
  loginForm(start);
  $("logout").addEventListener("click", (e) => { e.preventDefault(); logout(); });
  $("status").addEventListener("click", (e) => {
    e.preventDefault();
    const next = $("status").dataset.status === "away" ? "online" : "away";
    ui.client.request({ type: "set_status", status: next }).then(() => showStatus(next)).catch(() => {});
  });
  bindCompose(); // the message box: typing notices, sending, refusals in words
  bindTabKeys(); // the tab strip's keys: arrows, Home, End, Enter or Space, Delete
  // Closing (or reloading) the console says bye: it stops ringing now, not after the grace
  // period; its session waits out the grace period, so a reload comes back to its chats.
  window.addEventListener("pagehide", () => {
    if (!ui.client || ui.client.stopped) return;
    ui.client.send({ type: "bye" });
    ui.client.stop();
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && ui.client && ui.client.stopped) location.reload(); // back from bfcache
  });
  const token = sessionStorage.getItem("ringlab.token");
  if (token) start(token);
}

init();
