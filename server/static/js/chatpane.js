// The Operator Console's chat pane and its message box: the shown tab's visitor, notice,
// Accept or Join and Decline, its history and who is typing; and the one message box,
// which holds the shown tab's draft and sends to it. consoleview.js binds it to
// console.js's state and actions and calls renderChat() in every render().

import { $, describeError, el, patch, textProblem } from "./client.js";
import { noticeText, onSite, pageName, tabVisitor, typingText, visitorName } from "./consolewords.js";
import { closeLabel, tabId } from "./tabstrip.js";

let ui = null; // console.js's state
let act = null; // console.js's actions: click(key, event), ...
let render = null; // consoleview.js's render(): the message box redraws after a change

export function bindChatPane(state, actions, redraw) {
  ui = state;
  act = actions;
  render = redraw;
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

export function renderChat() {
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
}
