// The visitor chat widget, loaded by the button code snippet:
//   <script type="module" src="https://chat.example/static/js/widget.js?account=A&button=B"></script>
// It keeps a visitor id across visits (localStorage) and makes a fresh page-instance id
// on every page load. A snippet that carries `visitor=` (copied from a rendered page)
// forces that id on everyone: the incorrect code the Control Panel warns about.

import { Client, el, patch } from "./client.js";

const params = new URL(import.meta.url).searchParams;
const ACCOUNT = params.get("account");
const BUTTON = params.get("button");
const PINNED = params.get("visitor");
const STORE = `ringlab.visitor.${ACCOUNT}`;
const SERVER = new URL(import.meta.url);

function randomId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const w = {
  client: null,
  available: false,
  visitorId: PINNED || localStorage.getItem(STORE),
  pageInstance: randomId("pg_"),
  call: null,
  callState: null,
  room: null,
  messages: new Map(), // n -> message
  notices: [],
  typing: null,
  invitation: null,
  ended: false,
  leaveMessage: false,
  sent: false,
  open: false,
};

// ------------------------------------------------------------------ drawing

const root = el("div", { class: "ringlab-widget", data: { testid: "widget" } });
document.body.append(root);

function render() {
  const button = el("button", {
    class: `ringlab-button ${w.available ? "online" : "offline"}`,
    data: { testid: "chat-button", online: String(w.available) },
    onclick: () => { w.open = true; if (w.available && !w.room && !w.call) placeCall(); else w.leaveMessage = !w.available && !w.room; render(); },
  }, w.available ? "Chat with us" : "Leave a message");
  const parts = [button];
  if (w.invitation) parts.push(invitationPopup());
  if (w.open) parts.push(windowBox());
  patch(root, parts);
  const log = root.querySelector(".ringlab-history");
  if (log) log.scrollTop = log.scrollHeight;
}

function invitationPopup() {
  const inv = w.invitation;
  const reply = (accept) => {
    w.client.request({ type: "invitation_reply", invitation: inv.invitation, accept })
      .then((ok) => { if (accept && ok.room) w.open = true; }).catch(() => {});
    w.invitation = null;
    render();
  };
  return el("div", { class: "ringlab-invitation", data: { testid: "invitation", invitation: inv.invitation } },
    el("p", {}, el("strong", {}, inv.operator.name), " invites you to chat: ", inv.text || ""),
    el("button", { data: { testid: "invitation-accept" }, onclick: () => reply(true) }, "Accept"),
    el("button", { data: { testid: "invitation-decline" }, onclick: () => reply(false) }, "No thanks"));
}

// The window and the forms in it are built once and patched, never rebuilt: a button
// swapped under a pressed mouse loses the click, and a rebuilt input loses its text.
const win = el("div", { class: "ringlab-window", data: { testid: "widget-window" } });

function windowBox() {
  const body = [];
  const header = el("div", { class: "ringlab-header" }, "Chat",
    el("button", { class: "ringlab-close", title: "Close", data: { testid: "widget-close" }, onclick: closeChat }, "×"));
  if (w.leaveMessage) {
    body.push(leaveMessageForm());
  } else if (w.room) {
    body.push(el("ol", { class: "ringlab-history", data: { testid: "widget-history" } },
      ...[...w.messages.values()].sort((a, b) => a.n - b.n).map((m) =>
        el("li", { class: `from-${m.from.role}` }, el("span", { class: "who" }, `${m.from.role === "visitor" ? "You" : m.from.name}: `), el("span", { class: "text" }, m.text))),
      ...w.notices.map((n) => el("li", { class: "notice" }, n))));
    if (w.typing) body.push(el("p", { class: "ringlab-typing", data: { testid: "widget-typing" } }, `${w.typing} is typing…`));
    if (w.ended) {
      body.push(el("p", { class: "ringlab-ended", data: { testid: "widget-ended" } }, "The chat has ended."));
    } else {
      body.push(composeForm());
    }
  } else if (w.call && w.callState === "ringing") {
    body.push(el("p", { data: { testid: "widget-waiting" } }, "Calling… an operator will be with you shortly."),
      el("button", { onclick: hangUp }, "Cancel"));
  } else {
    body.push(el("p", {}, w.available ? "Click the button to chat with us." : "Nobody is online."));
  }
  patch(win, [header, ...body]);
  return win;
}

let compose = null;

function composeForm() {
  if (compose) return compose;
  const input = el("input", { data: { testid: "widget-input" }, placeholder: "Type a message", autocomplete: "off" });
  let typingOn = false;
  input.addEventListener("input", () => {
    const on = input.value.length > 0;
    if (on !== typingOn) { typingOn = on; w.client.send({ type: "typing", room: w.room, on }); }
  });
  compose = el("form", { class: "ringlab-compose" }, input, el("button", { type: "submit", data: { testid: "widget-send" } }, "Send"));
  compose.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    typingOn = false;
    w.client.request({ type: "send", room: w.room, text }).catch((error) => {
      // Refused (a closed chat, the rate limit): say so and give the text back.
      if (!input.value) input.value = text;
      w.notices.push(`Not sent: ${error.message}`);
      render();
    });
  });
  return compose;
}

let leaveForm = null;

function leaveMessageForm() {
  if (w.sent) return el("p", { data: { testid: "message-sent" } }, "Thank you: we will get back to you.");
  if (leaveForm) return leaveForm;
  leaveForm = el("form", { class: "ringlab-leave", data: { testid: "leave-message" } },
    el("p", {}, "Nobody could answer. Leave us a message:"),
    el("input", { name: "name", placeholder: "Your name", required: "" }),
    el("input", { name: "email", type: "email", placeholder: "Your email", required: "" }),
    el("textarea", { name: "text", placeholder: "Your message", required: "" }),
    el("button", { type: "submit" }, "Send message"));
  leaveForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(leaveForm);
    w.client.request({ type: "leave_message", name: data.get("name"), email: data.get("email"), text: data.get("text") })
      .then(() => { w.sent = true; render(); }).catch(() => {});
  });
  return leaveForm;
}

// ------------------------------------------------------------------ actions

function placeCall() {
  w.ended = false;
  w.client.request({ type: "call" }).then((ok) => {
    if (ok.call) { w.call = ok.call; w.callState = w.callState || "ringing"; }
    render();
  }).catch(() => {});
}

function hangUp() {
  if (w.call) w.client.request({ type: "hangup", call: w.call }).catch(() => {});
  w.call = null;
  w.callState = null;
  w.open = false;
  render();
}

function closeChat() {
  if (w.room && !w.ended) w.client.request({ type: "close", room: w.room }).catch(() => {});
  else if (w.call && w.callState === "ringing") hangUp();
  w.open = false;
  render();
}

// ------------------------------------------------------------------ events

function showRoom(room) {
  w.room = room.room;
  w.ended = false;
  w.notices = [];
  w.messages = new Map(room.messages.map((m) => [m.n, m]));
  w.open = true;
  w.leaveMessage = false;
}

function onEvent(ev) {
  switch (ev.type) {
    case "welcome":
      if (ev.visitor_id && !PINNED) localStorage.setItem(STORE, ev.visitor_id);
      w.visitorId = ev.visitor_id || w.visitorId;
      root.dataset.visitor = w.visitorId || "";
      break;
    case "snapshot":
      w.available = ev.available;
      if (ev.rooms.length) showRoom(ev.rooms[ev.rooms.length - 1]);
      w.call = ev.call || null;
      w.callState = ev.call_state || null;
      w.invitation = ev.invitation || null;
      break;
    case "availability":
      w.available = ev.online;
      break;
    case "call_state":
      w.call = ev.call;
      w.callState = ev.state;
      if (ev.state === "missed" && ev.leave_message) { w.leaveMessage = true; w.open = true; }
      if (ev.state !== "ringing" && ev.state !== "missed") w.call = null;
      break;
    case "room_opened":
      showRoom(ev.room);
      break;
    case "message":
      if (ev.room === w.room) w.messages.set(ev.n, ev);
      if (ev.from.role === "operator") w.typing = null;
      break;
    case "typing":
      if (ev.room === w.room && ev.from.role === "operator") w.typing = ev.on ? ev.from.name : null;
      break;
    case "participant_joined":
      if (ev.room === w.room) w.notices.push(`${ev.who.name} joined the chat`);
      break;
    case "participant_left":
      if (ev.room === w.room) w.notices.push(`${ev.who.name} left the chat`);
      break;
    case "room_closed":
      if (ev.room === w.room) { w.ended = true; w.typing = null; w.call = null; }
      break;
    case "invitation":
      w.invitation = ev.invitation;
      break;
    case "invitation_ended":
      if (w.invitation && w.invitation.invitation === ev.invitation) w.invitation = null;
      break;
    default:
      break;
  }
  render();
}

// ------------------------------------------------------------------ start

const wsUrl = `${SERVER.protocol === "https:" ? "wss" : "ws"}://${SERVER.host}/ws/visitor`;
w.client = new Client(wsUrl, () => ({
  account: ACCOUNT,
  button: BUTTON,
  page_instance: w.pageInstance,
  url: location.href,
  title: document.title,
  referrer: document.referrer,
  ...(w.visitorId ? { visitor_id: w.visitorId } : {}),
}), onEvent, (state) => { root.dataset.connection = state; });
w.client.connect();
window.addEventListener("pagehide", () => w.client.send({ type: "bye" }));
render();
