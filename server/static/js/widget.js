// The visitor chat widget, loaded by the button code snippet:
//   <script type="module" src="https://chat.example/static/js/widget.js?account=A&button=B"></script>
// It keeps a visitor id across visits (localStorage). A snippet that carries `visitor=`
// (copied from a rendered page) forces that id on everyone: the incorrect code the
// Control Panel warns about.
//
// The chat lives as long as the browser tab stays on the site, not as long as one page:
// the page instance, its session (resume token, last seq), the requests without an
// answer and what the window shows are kept for the tab (sessionStorage), and the next
// page of the site resumes the session. Only an explicit, confirmed end (End chat), or the
// grace period running out after the visitor left the site, ends the chat: no bye on
// pagehide. The window's X (and Escape) only minimise it.

import { Client, describeError } from "./client.js";
import { randomHex } from "./dom.js";
import { calling, chatting, createView } from "./widgetview.js";

const params = new URL(import.meta.url).searchParams;
const ACCOUNT = params.get("account");
const BUTTON = params.get("button");
const PINNED = params.get("visitor");
const STORE = `ringlab.visitor.${ACCOUNT}`; // localStorage: the visitor id
const PAGE = `ringlab.page.${ACCOUNT}`; // sessionStorage: this tab's page instance
const SERVER = new URL(import.meta.url);
const SHORT = 2048; // longest url, title and referrer a hello may carry

/** The page instance this tab had on its previous page of the site, if any. */
function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(PAGE));
    return saved && saved.v === 1 ? saved : null;
  } catch {
    return null;
  }
}

const saved = load();
const model = (saved && saved.model) || {};

const w = {
  client: null,
  connection: "connecting",
  visitorId: PINNED || localStorage.getItem(STORE),
  pageInstance: (saved && saved.pageInstance) || `pg_${randomHex(12)}`,
  available: model.available || false,
  call: model.call || null,
  callState: model.callState || null,
  room: model.room || null,
  messages: new Map((model.messages || []).map((m) => [m.n, m])), // n -> message
  notices: model.notices || [],
  typing: {}, // who is typing: party id -> name
  invitation: model.invitation || null,
  ended: model.ended || false,
  leaveMessage: model.leaveMessage || false,
  sent: model.sent || false,
  open: model.open || false,
  missed: model.missed || null, // the missed call the window was opened for
  confirmEnd: false, // asking whether to end the chat
  inputError: null,
  callError: null,
  leaveError: null,
};

/** Keep everything the next page of the site needs: called after every change. */
function save() {
  const state = {
    v: 1,
    pageInstance: w.pageInstance,
    resume: w.client.resume,
    pending: w.client.pendingFrames(),
    model: {
      available: w.available, call: w.call, callState: w.callState, room: w.room,
      messages: [...w.messages.values()], notices: w.notices, invitation: w.invitation,
      ended: w.ended, leaveMessage: w.leaveMessage, sent: w.sent, open: w.open, missed: w.missed,
    },
  };
  try {
    sessionStorage.setItem(PAGE, JSON.stringify(state));
  } catch {
    // storage full or off: the chat still works on this page
  }
}

// ------------------------------------------------------------------ actions

/** Send a request and follow its answer: also for the requests a previous page left
 * without an answer (sent again here with their ids; the server answers a repeated id
 * without applying it twice). */
function track(frame) {
  const sent = w.client.request(frame);
  const failed = (error) => describeError(error, frame);
  switch (frame.type) {
    case "send":
      sent.catch((error) => {
        // Refused: say so and give the text back; never swallowed.
        notice(`Not sent: ${failed(error)}`);
        view.giveBack(frame.text);
      });
      break;
    case "call":
      sent.then((ok) => {
        if (ok.call) w.call = ok.call;
        if (ok.room) w.open = true; // already chatting: the button opens that chat
      }, (error) => { w.callError = `Could not call: ${failed(error)}`; });
      break;
    case "leave_message":
      sent.then(() => { w.sent = true; }, (error) => { w.leaveError = `Not sent: ${failed(error)}`; });
      break;
    case "invitation_reply":
      sent.then((ok) => { if (frame.accept && ok.room) w.open = true; }, () => {});
      break;
    default:
      sent.catch(() => {}); // hangup, close: the server's events tell the outcome
  }
  sent.catch(() => {}).finally(render);
  render();
  return sent;
}

function placeCall() {
  if (w.ended) clearRoom(); // a new chat after one that ended
  w.leaveMessage = false;
  w.callState = null;
  w.callError = null;
  track({ type: "call" });
}

function hangUp() {
  if (w.call) track({ type: "hangup", call: w.call });
  w.call = null;
  w.callState = null;
  w.open = false;
  render();
  view.focus("button");
}

/** A notice in the chat, after the last message the widget has (its place in the
 * server's stream of events). */
function notice(text) {
  const after = Math.max(0, ...[...w.messages.keys()]);
  const order = Math.max(0, ...w.notices.map((n) => n.order || 0)) + 1;
  w.notices.push({ text, after, order });
}

const act = {
  button() {
    const wasOpen = w.open;
    w.open = true;
    if (w.available && !chatting(w) && !calling(w)) placeCall();
    else if (!chatting(w) && !calling(w)) w.leaveMessage = !w.available;
    // while a call waits, the window says whether anyone is there and what to do
    render();
    if (!wasOpen) view.focus("window");
  },
  /** X and Escape: the window goes, the chat (or the call) goes on. */
  minimise() {
    w.open = false;
    w.confirmEnd = false;
    render();
    view.focus("button");
  },
  endChat() {
    w.confirmEnd = true;
    render();
    view.focus("keep");
  },
  confirmEnd() {
    w.confirmEnd = false;
    if (chatting(w)) track({ type: "close", room: w.room });
    render();
    view.focus("window");
  },
  keepChatting() {
    w.confirmEnd = false;
    render();
    view.focus("window");
  },
  /** Nobody is there while the call waits: stop waiting, leave a message instead. */
  leaveInstead() {
    if (w.call) track({ type: "hangup", call: w.call });
    w.call = null;
    w.callState = null;
    w.leaveMessage = true;
    w.sent = false;
    w.open = true;
    render();
    view.focus("window");
  },
  hangUp,
  reply(invitation, accept) {
    track({ type: "invitation_reply", invitation, accept });
    w.invitation = null;
    render();
  },
  send(text) {
    track({ type: "send", room: w.room, text });
  },
  sending() {
    return w.client.pendingFrames().filter((f) => f.type === "send" && f.room === w.room);
  },
  typing(on) {
    if (w.room) w.client.send({ type: "typing", room: w.room, on });
  },
  leaveMessage(fields) {
    w.leaveError = null;
    track({ type: "leave_message", ...fields });
  },
};

const view = createView(w, act);

function render() {
  view.render();
  save();
}

// ------------------------------------------------------------------ events

function showRoom(room) {
  w.room = room.room;
  w.ended = false;
  w.notices = [];
  w.typing = {};
  w.messages = new Map(room.messages.map((m) => [m.n, m]));
  w.open = true;
  w.leaveMessage = false;
  w.callError = null;
}

function clearRoom() {
  w.room = null;
  w.ended = false;
  w.notices = [];
  w.messages = new Map();
  w.typing = {};
  w.confirmEnd = false;
}

/** The visitor's call was missed (its ring timed out, or a server restart ended it):
 * say so and offer the leave-message form; the window opens once per missed call. */
function missedCall(call) {
  w.leaveMessage = true;
  if (w.missed !== call) {
    w.missed = call;
    w.sent = false;
    w.open = true;
  }
}

function onEvent(ev) {
  switch (ev.type) {
    case "welcome":
      if (ev.visitor_id && !PINNED) localStorage.setItem(STORE, ev.visitor_id);
      w.visitorId = ev.visitor_id || w.visitorId;
      break;
    case "snapshot": { // replaces what the widget showed (a new session, a server restart)
      w.available = ev.available;
      const room = ev.rooms.length ? ev.rooms[ev.rooms.length - 1] : null;
      if (room) showRoom(room);
      else clearRoom();
      w.call = ev.call || null;
      w.callState = ev.call_state || null;
      w.invitation = ev.invitation || null;
      w.typing = {};
      if (!room && (ev.leave_message || ev.call_state === "missed")) missedCall(ev.call);
      else w.leaveMessage = !room && w.leaveMessage && !w.available;
      break;
    }
    case "availability":
      w.available = ev.online;
      break;
    case "call_state":
      w.call = ev.call;
      w.callState = ev.state;
      if (ev.state === "missed") missedCall(ev.call);
      if (ev.state !== "ringing" && ev.state !== "missed") w.call = null;
      break;
    case "room_opened":
      showRoom(ev.room);
      render();
      view.focusIfInside();
      return;
    case "message":
      if (ev.room === w.room) w.messages.set(ev.n, ev);
      delete w.typing[ev.from.id]; // a message ends its writer's typing notice
      break;
    case "typing":
      if (ev.room === w.room && ev.from.role === "operator") {
        if (ev.on && !w.ended) w.typing[ev.from.id] = ev.from.name;
        else delete w.typing[ev.from.id];
      }
      break;
    case "participant_joined":
      if (ev.room === w.room) notice(`${ev.who.name} joined the chat`);
      break;
    case "participant_left":
      if (ev.room === w.room) {
        notice(`${ev.who.name} left the chat`);
        delete w.typing[ev.who.id];
      }
      break;
    case "room_closed":
      if (ev.room === w.room) {
        w.ended = true;
        w.typing = {};
        w.call = null;
        w.confirmEnd = false;
      }
      break;
    case "invitation":
      w.invitation = ev.invitation;
      break;
    case "invitation_ended":
      if (w.invitation && w.invitation.invitation === ev.invitation) w.invitation = null;
      break;
    case "closed":
      // 4001: another tab took this page instance over (a duplicated tab carries the same
      // session): this tab goes on as a page instance of its own.
      if (ev.code === 4001) {
        w.pageInstance = `pg_${randomHex(12)}`;
        connect(null);
      }
      break;
    default:
      break;
  }
  render();
}

// ------------------------------------------------------------------ start

const short = (text) => [...(text || "")].slice(0, SHORT).join("");
const wsUrl = `${SERVER.protocol === "https:" ? "wss" : "ws"}://${SERVER.host}/ws/visitor`;

function connect(resume, pending = []) {
  w.client = new Client(wsUrl, () => ({
    account: ACCOUNT,
    button: BUTTON,
    page_instance: w.pageInstance,
    url: short(location.href),
    title: short(document.title),
    referrer: short(document.referrer),
    ...(w.visitorId ? { visitor_id: w.visitorId } : {}),
  }), onEvent, (state) => {
    w.connection = state;
    render();
  }, resume);
  for (const frame of pending) track(frame);
  w.client.connect();
}

connect(saved && saved.resume, (saved && saved.pending) || []);
window.addEventListener("pagehide", save);
render();
