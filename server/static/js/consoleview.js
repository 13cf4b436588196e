// The Operator Console's drawing: render() redraws the tab strip (tabstrip.js), the chat
// pane (chatpane.js) and the sidebar's operators, and starts or stops the ring sound; the
// sidebar's visitors, the connection bar and the status link are drawn here too.
// console.js owns the state and calls render() after every change; the listeners here and
// in tabstrip.js and chatpane.js call back into console.js through `act` (the message box
// sends through the state's client itself). The words come from consolewords.js.

import { bindChatPane, bindCompose, renderChat } from "./chatpane.js";
import { $, el, patch } from "./client.js";
import { NOTICE_TEXT, pageName, since, visitorName } from "./consolewords.js";
import { bindTabKeys, bindTabStrip, renderTabs, visibleTabs } from "./tabstrip.js";

export { bindCompose, bindTabKeys, NOTICE_TEXT, pageName, since, visibleTabs, visitorName };

let ui = null; // console.js's state
let act = null; // console.js's actions: click(key, event), select(key), ...

export function bindView(state, actions) {
  ui = state;
  act = actions;
  ui.ringer = new Ringer();
  bindTabStrip(state, actions);
  bindChatPane(state, actions, render);
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
