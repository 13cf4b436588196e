// The Operator Console's tabs as data: one per call ringing here, invitation or chat,
// each stepped through the tab machine (tabstate.js) and its effects carried out: the
// ring, the requests to the server, notices, removal. console.js binds it to its state
// and brings the server's events here; consoleview.js draws the tabs.

import { describeError } from "./client.js";
import { render, visibleTabs } from "./consoleview.js";
import { step } from "./tabstate.js";

const REMOVE_AFTER = 4000; // ms a tab that explains itself stays ("taken", ...)

let ui = null; // console.js's state

export function bindTabs(state) {
  ui = state;
}

/** A visitor's latest info, keeping what an older one knew that it lacks (a restored
 * room's visitor has no page until it comes back). */
export function merged(old, next) {
  if (!old || !next || old.id !== next.id) return next || old;
  return { ...old, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== "" && v !== null)) };
}

// ------------------------------------------------------------------ tabs

function tabFor(key, info) {
  let tab = ui.tabs.get(key);
  if (!tab) {
    tab = { key, state: "none", sounding: false, room: null, call: null, info, history: [],
            unread: false, notice: null, refusal: null, typing: {}, ended: false,
            removed: false, sending: [], composeError: null, draft: "", typingSent: false,
            focusInput: false };
    ui.tabs.set(key, tab);
  }
  if (info) tab.info = { ...tab.info, ...info, visitor: merged(tab.info && tab.info.visitor, info.visitor) };
  return tab;
}

/** Step the tab's machine and carry out its effects; the caller renders. */
export function fire(tab, event) {
  const result = step(ui.policy, tab.state, event);
  tab.state = result.state;
  for (const effect of result.effects) perform(tab, effect);
}

/** A request's refusal, in words, for the tab that made it; then the machine's event. */
function refused(tab, verb, frame, type) {
  return (error) => {
    tab.refusal = `${verb}: ${describeError(error, frame)}`;
    fire(tab, { type, reason: error.code });
    render();
  };
}

function perform(tab, effect) {
  const [name, arg] = effect.split(":");
  switch (name) {
    case "open_tab":
      tab.removed = false;
      tab.notice = null;
      if (!ui.active || !visibleTabs().some((t) => t.key === ui.active)) ui.active = tab.key;
      break;
    case "start_ring":
      tab.sounding = true;
      break;
    case "stop_ring":
      tab.sounding = false;
      break;
    case "send_accept": {
      const frame = { type: "accept", call: tab.call };
      tab.notice = null;
      tab.focusInput = true; // once the chat opens, the message box has the focus
      ui.client.request(frame).catch(refused(tab, "Could not accept", frame, "accept_failed"));
      ui.active = tab.key;
      break;
    }
    case "send_decline":
      ui.client.request({ type: "decline", call: tab.call }).catch(() => {}); // the tab is gone already
      break;
    case "send_join": {
      const frame = { type: "join", room: tab.room };
      tab.notice = null;
      tab.focusInput = true;
      ui.client.request(frame).catch(refused(tab, "Could not join", frame, "join_failed"));
      ui.active = tab.key;
      break;
    }
    case "send_decline_join":
      ui.client.request({ type: "decline_join", room: tab.room }).catch(() => {});
      break;
    case "send_close":
      ui.client.request({ type: "close", room: tab.room }).catch(() => {});
      break;
    case "notice":
      tab.notice = arg;
      break;
    case "remove_tab":
      removeTab(tab);
      break;
    case "remove_tab_later":
      setTimeout(() => {
        const idle = tab.state === "dismissed" || tab.state === "none";
        if (ui.tabs.get(tab.key) === tab && idle && !tab.removed) removeTab(tab);
        render();
      }, REMOVE_AFTER);
      break;
    case "open_chat":
      tab.ended = false;
      tab.notice = null;
      break;
    case "end_chat":
      tab.ended = true;
      tab.typing = {};
      break;
    default:
      break;
  }
}

function removeTab(tab) {
  tab.removed = true;
  tab.sounding = false;
  if (ui.active === tab.key) {
    const others = visibleTabs();
    ui.active = others.length ? others[others.length - 1].key : null;
  }
}

export function historyItem(message) {
  return { kind: "message", n: message.n, from: message.from, text: message.text };
}

/** A call ringing here (an event or a snapshot's); returns its tab key. */
export function ring(info) {
  const key = `call:${info.call}`;
  const tab = tabFor(key, { visitor: info.visitor });
  tab.call = info.call;
  fire(tab, { type: "ring" });
  return key;
}

export function openRoom(room) {
  let key = ui.roomTab.get(room.room) || (room.call ? `call:${room.call}` : null);
  if (!key || !ui.tabs.has(key)) key = `room:${room.room}`;
  const tab = tabFor(key, { visitor: room.visitor });
  tab.room = room.room;
  tab.call = tab.call || room.call || null;
  tab.history = room.messages.map(historyItem);
  ui.roomTab.set(room.room, key);
  fire(tab, { type: "room_opened" });
  return key;
}

export function roomInvite(invite) {
  const key = `room:${invite.room}`;
  const tab = tabFor(key, { visitor: invite.visitor });
  tab.room = invite.room;
  ui.roomTab.set(invite.room, key);
  fire(tab, { type: "room_invite" });
  return key;
}

export function roomTabOf(roomId) {
  const key = ui.roomTab.get(roomId);
  return key ? ui.tabs.get(key) : null;
}
