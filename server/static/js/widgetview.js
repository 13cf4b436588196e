// The chat widget's drawing: the button, an invitation, the chat window and its forms.
// widget.js owns the state (`w`) and the talking; `act` holds its actions.

import { el, patch, textProblem } from "./client.js";

/** Draw the widget into a new element at the end of the page; returns its render and
 * giveBack (put a refused text back into the input). */
export function createView(w, act) {
  const root = el("div", { class: "ringlab-widget", data: { testid: "widget" } });
  document.body.append(root);

  function render() {
    root.dataset.visitor = w.visitorId || "";
    root.dataset.connection = w.connection;
    const button = el("button", {
      class: `ringlab-button ${w.available ? "online" : "offline"}`,
      data: { testid: "chat-button", online: String(w.available) },
      onclick: act.button,
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
    return el("div", { class: "ringlab-invitation", data: { testid: "invitation", invitation: inv.invitation } },
      el("p", {}, el("strong", {}, inv.operator.name), " invites you to chat: ", inv.text || ""),
      el("button", { data: { testid: "invitation-accept" }, onclick: () => act.reply(inv.invitation, true) }, "Accept"),
      el("button", { data: { testid: "invitation-decline" }, onclick: () => act.reply(inv.invitation, false) }, "No thanks"));
  }

  // The window and the forms in it are built once and patched, never rebuilt: a button
  // swapped under a pressed mouse loses the click, and a rebuilt input loses its text.
  const win = el("div", { class: "ringlab-window", data: { testid: "widget-window" } });

  function connectionLine() {
    if (w.connection === "reconnecting") {
      return el("p", { class: "ringlab-connection", role: "status", data: { testid: "widget-connection" } },
        "Connection lost — reconnecting…");
    }
    if (w.connection === "closed") {
      return el("p", { class: "ringlab-connection", role: "status", data: { testid: "widget-connection" } },
        "The chat is not available. Reload the page to try again.");
    }
    return null;
  }

  function message(m) {
    return el("li", { class: `from-${m.from.role}` },
      el("span", { class: "who" }, `${m.from.role === "visitor" ? "You" : m.from.name}: `),
      el("span", { class: "text" }, m.text));
  }

  // A message sent but not answered yet (offline, or the next page sends it again).
  function pending(frame) {
    return el("li", { class: "from-visitor pending", data: { testid: "widget-pending", id: frame.id } },
      el("span", { class: "who" }, "You: "), el("span", { class: "body" }, frame.text),
      el("span", { class: "status" }, " Sending…"));
  }

  function windowBox() {
    const body = [];
    const header = el("div", { class: "ringlab-header" }, "Chat",
      el("button", { class: "ringlab-close", title: "Close", data: { testid: "widget-close" }, onclick: act.close }, "×"));
    body.push(connectionLine());
    if (w.leaveMessage) {
      body.push(leaveMessageForm());
    } else if (w.room) {
      body.push(el("ol", { class: "ringlab-history", data: { testid: "widget-history" } },
        ...[...w.messages.values()].sort((a, b) => a.n - b.n).map(message),
        ...w.notices.map((n) => el("li", { class: "notice" }, n)),
        ...act.sending().map(pending)));
      if (w.typing) body.push(el("p", { class: "ringlab-typing", data: { testid: "widget-typing" } }, `${w.typing} is typing…`));
      if (w.ended) {
        body.push(el("p", { class: "ringlab-ended", data: { testid: "widget-ended" } }, "The chat has ended."));
      } else {
        if (w.inputError) body.push(el("p", { class: "ringlab-error", role: "alert", data: { testid: "widget-error" } }, w.inputError));
        body.push(composeForm());
      }
    } else if (w.call && w.callState === "ringing") {
      body.push(el("p", { data: { testid: "widget-waiting" } }, "Calling… an operator will be with you shortly."),
        el("button", { onclick: act.hangUp }, "Cancel"));
    } else {
      if (w.callError) body.push(el("p", { class: "ringlab-error", role: "alert", data: { testid: "widget-error" } }, w.callError));
      body.push(el("p", {}, w.available ? "Click the button to chat with us." : "Nobody is online."));
    }
    patch(win, [header, ...body]);
    return win;
  }

  const input = el("input", { data: { testid: "widget-input" }, placeholder: "Type a message", autocomplete: "off" });
  let compose = null;

  function composeForm() {
    if (compose) return compose;
    let typingOn = false;
    input.addEventListener("input", () => {
      const on = input.value.length > 0;
      if (w.inputError) {
        w.inputError = null;
        render();
      }
      if (on !== typingOn) {
        typingOn = on;
        act.typing(on);
      }
    });
    compose = el("form", { class: "ringlab-compose" }, input, el("button", { type: "submit", data: { testid: "widget-send" } }, "Send"));
    compose.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      w.inputError = textProblem(text); // too long: said, and the text stays
      if (w.inputError) {
        render();
        return;
      }
      input.value = "";
      typingOn = false;
      act.send(text);
    });
    return compose;
  }

  /** A refused text back into the input, unless the visitor typed something since. */
  function giveBack(text) {
    if (!input.value) input.value = text;
  }

  let leaveForm = null;
  const leaveIntro = el("p", {});
  const leaveError = el("p", { class: "ringlab-error", role: "alert", data: { testid: "leave-error" } });

  function leaveMessageForm() {
    if (w.sent) return el("p", { data: { testid: "message-sent" } }, "Thank you: we will get back to you.");
    leaveIntro.textContent = w.callState === "missed"
      ? "Sorry: nobody could answer your call. Leave us a message and we will get back to you:"
      : "Nobody is online. Leave us a message:";
    leaveError.textContent = w.leaveError || "";
    leaveError.hidden = !w.leaveError;
    if (leaveForm) return leaveForm;
    leaveForm = el("form", { class: "ringlab-leave", data: { testid: "leave-message" } },
      leaveIntro,
      el("input", { name: "name", placeholder: "Your name", required: "" }),
      el("input", { name: "email", type: "email", placeholder: "Your email", required: "" }),
      el("textarea", { name: "text", placeholder: "Your message", required: "" }),
      leaveError,
      el("button", { type: "submit" }, "Send message"));
    leaveForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = new FormData(leaveForm);
      const text = String(data.get("text")).trim();
      w.leaveError = textProblem(text);
      if (w.leaveError) {
        render();
        return;
      }
      act.leaveMessage({ name: data.get("name"), email: data.get("email"), text });
    });
    return leaveForm;
  }

  return { render, giveBack };
}
