// The Operator Console's tab strip: one tab per call, invitation or chat, drawn as an
// ARIA tablist, and its keyboard. consoleview.js binds it to console.js's state and
// actions and calls renderTabs() in every render().

import { $, el, patch } from "./client.js";
import { pageName, tabVisitor, visitorName } from "./consolewords.js";

let ui = null; // console.js's state
let act = null; // console.js's actions: click(key, event), select(key), ...

export function bindTabStrip(state, actions) {
  ui = state;
  act = actions;
}

export function visibleTabs() {
  return [...ui.tabs.values()].filter((t) => !t.removed);
}

/** The tab strip is an ARIA tablist: one tab stop (the shown tab), arrow keys, Home and
 * End move between tabs, Enter or Space shows the focused one, Delete is its X. The X is
 * for the mouse; the chat pane has the same action as a button. */
export const tabId = (key) => `tab-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;

export function renderTabs() {
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
export function closeLabel(tab) {
  if (tab.state === "ringing" || tab.state === "invited") return "Decline";
  if (tab.state === "active") return "Close chat";
  return "Close tab";
}

export function bindTabKeys() {
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
