// The chat widget's drawing: the button, an invitation, the chat window and its forms.
// widget.js owns the state (`w`) and the talking; `act` holds its actions.

import { el, patch, textProblem } from "./client.js";

/** Whether the visitor is in a chat that goes on. */
export const chatting = (w) => Boolean(w.room && !w.ended);
/** Whether the visitor's call is ringing (waiting for an operator). */
export const calling = (w) => Boolean(w.call && w.callState === "ringing" && !chatting(w));

/** Messages by their number, each notice (joined, left, not sent) after the message it
 * followed on the server's stream: in the order the server told them. */
export function ordered(messages, notices) {
  const items = [
    ...[...messages].map((m) => ({ at: m.n, rank: 0, order: 0, message: m })),
    ...notices.map((n, i) => (typeof n === "string" // kept by an older page: at the end
      ? { at: Infinity, rank: 1, order: i, notice: n }
      : { at: n.after, rank: 1, order: n.order, notice: n.text })),
  ];
  return items.sort((a, b) => a.at - b.at || a.rank - b.rank || a.order - b.order);
}

/** "Alice is typing…", "Alice and Bob are typing…". */
function typingText(typing) {
  const names = Object.values(typing || {});
  if (!names.length) return null;
  return `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} typing…`;
}

/** Draw the widget into a new element at the end of the page; returns its render,
 * giveBack (put a refused text back into the input) and focus (after a visitor's action:
 * "button", "window", "input", "keep"). */
export function createView(w, act) {
  const root = el("div", { class: "ringlab-widget", data: { testid: "widget" } });
  document.body.append(root);
  // Escape minimises the window (or, while asking whether to end the chat, keeps it).
  root.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !w.open) return;
    e.preventDefault();
    if (w.confirmEnd) act.keepChatting();
    else act.minimise();
  });

  /** The button says what it does, and agrees with the window: "Chat with us" while a
   * chat goes on or an operator is online; "Leave a message" when none is (the window
   * then offers the form, even while a call waits). */
  function buttonLabel() {
    if (chatting(w) || w.available) return "Chat with us";
    return "Leave a message";
  }

  function render() {
    root.dataset.visitor = w.visitorId || "";
    root.dataset.connection = w.connection;
    const button = el("button", {
      class: `ringlab-button ${w.available ? "online" : "offline"}`,
      data: { testid: "chat-button", online: String(w.available) },
      "aria-expanded": String(Boolean(w.open)), "aria-controls": "ringlab-window",
      onclick: act.button,
    }, buttonLabel());
    const parts = [button];
    if (w.invitation) parts.push(invitationPopup());
    // Read at the bottom, the history follows new lines; scrolled up, it stays put.
    const before = root.querySelector(".ringlab-history");
    const follow = !before || before.scrollHeight - before.scrollTop - before.clientHeight < 40;
    const kept = before ? before.scrollTop : 0;
    if (w.open) parts.push(windowBox());
    patch(root, parts);
    const log = root.querySelector(".ringlab-history");
    if (log) log.scrollTop = follow ? log.scrollHeight : kept;
  }

  function invitationPopup() {
    const inv = w.invitation;
    return el("div", {
      class: "ringlab-invitation", role: "region", "aria-label": "Chat invitation",
      data: { testid: "invitation", invitation: inv.invitation },
    },
    el("p", {}, el("strong", {}, inv.operator.name), " invites you to chat: ", inv.text || ""),
    el("div", { class: "ringlab-row" },
      el("button", { class: "ringlab-primary", data: { testid: "invitation-accept" }, onclick: () => act.reply(inv.invitation, true) }, "Accept"),
      el("button", { data: { testid: "invitation-decline" }, onclick: () => act.reply(inv.invitation, false) }, "No thanks")));
  }

  // The window and the forms in it are built once and patched, never rebuilt: a button
  // swapped under a pressed mouse loses the click, and a rebuilt input loses its text.
  const win = el("div", {
    id: "ringlab-window", class: "ringlab-window", role: "dialog", "aria-labelledby": "ringlab-title",
    tabindex: "-1", data: { testid: "widget-window" },
  });

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

  /** Ending the chat is an action of its own, asked for and confirmed: X only minimises. */
  function endChat() {
    if (!w.confirmEnd) {
      return el("div", { class: "ringlab-row ringlab-end" },
        el("button", { class: "ringlab-link", data: { testid: "widget-end" }, onclick: act.endChat }, "End chat"));
    }
    return el("div", { class: "ringlab-confirm", role: "group", "aria-labelledby": "ringlab-confirm-q", data: { testid: "widget-end-confirm" } },
      el("p", { id: "ringlab-confirm-q" }, "End this chat? The operator will see that you left."),
      el("div", { class: "ringlab-row" },
        el("button", { class: "ringlab-danger", data: { testid: "widget-end-yes" }, onclick: act.confirmEnd }, "End chat"),
        el("button", { data: { testid: "widget-end-no" }, onclick: act.keepChatting }, "Keep chatting")));
  }

  function waiting() {
    if (w.available) {
      return [
        el("p", { data: { testid: "widget-waiting" } }, "Calling… an operator will be with you shortly."),
        el("div", { class: "ringlab-row" }, el("button", { data: { testid: "widget-cancel" }, onclick: act.hangUp }, "Cancel call")),
      ];
    }
    // Every operator went away while the call waits: say so, as the button does, and
    // offer the message form; the call rings again as soon as one is back.
    return [
      el("p", { data: { testid: "widget-waiting", available: "false" } },
        "Nobody is available right now. Leave us a message, or keep waiting: your call rings as soon as an operator is back."),
      el("div", { class: "ringlab-row" },
        el("button", { class: "ringlab-primary", data: { testid: "widget-leave-instead" }, onclick: act.leaveInstead }, "Leave a message"),
        el("button", { data: { testid: "widget-cancel" }, onclick: act.hangUp }, "Cancel call")),
    ];
  }

  function windowBox() {
    const body = [];
    const header = el("div", { class: "ringlab-header" },
      el("h2", { id: "ringlab-title", class: "ringlab-title" }, "Chat"),
      el("button", {
        class: "ringlab-close", title: "Minimise (the chat goes on)", "aria-label": "Minimise chat",
        data: { testid: "widget-close" }, onclick: act.minimise,
      }, "×"));
    body.push(connectionLine());
    if (w.leaveMessage) {
      body.push(leaveMessageForm());
    } else if (w.room) {
      body.push(el("ol", {
        class: "ringlab-history", tabindex: "0", "aria-label": "Messages", "aria-live": "polite",
        data: { testid: "widget-history" },
      }, ...ordered(w.messages.values(), w.notices).map((item) => (item.message
        ? message(item.message) : el("li", { class: "notice" }, item.notice))),
      ...act.sending().map(pending)));
      const typing = typingText(w.typing);
      if (typing) body.push(el("p", { class: "ringlab-typing", data: { testid: "widget-typing" } }, typing));
      if (w.ended) {
        body.push(el("p", { class: "ringlab-ended", data: { testid: "widget-ended" } }, "The chat has ended."));
      } else {
        if (w.inputError) body.push(el("p", { class: "ringlab-error", role: "alert", data: { testid: "widget-error" } }, w.inputError));
        body.push(composeForm());
        body.push(endChat());
      }
    } else if (calling(w)) {
      body.push(...waiting());
    } else {
      if (w.callError) body.push(el("p", { class: "ringlab-error", role: "alert", data: { testid: "widget-error" } }, w.callError));
      body.push(el("p", {}, w.available ? "Click the button to chat with us." : "Nobody is online."));
    }
    patch(win, [header, ...body]);
    return win;
  }

  const input = el("input", {
    data: { testid: "widget-input" }, placeholder: "Type a message", autocomplete: "off",
    "aria-label": "Message",
  });
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
  const leaveIntro = el("p", { id: "ringlab-leave-intro" });
  const leaveError = el("p", { class: "ringlab-error", role: "alert", data: { testid: "leave-error" } });

  function leaveMessageForm() {
    if (w.sent) return el("p", { data: { testid: "message-sent" } }, "Thank you: we will get back to you.");
    leaveIntro.textContent = w.callState === "missed"
      ? "Sorry: nobody could answer your call. Leave us a message and we will get back to you:"
      : "Nobody is online. Leave us a message:";
    leaveError.textContent = w.leaveError || "";
    leaveError.hidden = !w.leaveError;
    if (leaveForm) return leaveForm;
    leaveForm = el("form", { class: "ringlab-leave", "aria-labelledby": "ringlab-leave-intro", data: { testid: "leave-message" } },
      leaveIntro,
      el("input", { name: "name", placeholder: "Your name", "aria-label": "Your name", autocomplete: "name", required: "" }),
      el("input", { name: "email", type: "email", placeholder: "Your email", "aria-label": "Your email", autocomplete: "email", required: "" }),
      el("textarea", { name: "text", placeholder: "Your message", "aria-label": "Your message", required: "" }),
      leaveError,
      el("button", { type: "submit", class: "ringlab-primary" }, "Send message"));
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

  /** After a visitor's action, where the keyboard goes: the message box (or the window)
   * when the window opens, the chat button when it is minimised. */
  function focus(where) {
    const target = {
      button: () => root.querySelector(".ringlab-button"),
      window: () => (w.open ? (root.querySelector(".ringlab-compose input")
        || root.querySelector(".ringlab-leave input") || win) : null),
      keep: () => root.querySelector("[data-testid=widget-end-no]"),
      end: () => root.querySelector("[data-testid=widget-end]") || input,
    }[where];
    const node = target && target();
    if (node && node.isConnected) node.focus();
  }

  /** The message box gets the focus when a chat opens while the visitor is in the window
   * (waiting for an operator): the keyboard never has to look for it. */
  function focusIfInside() {
    if (w.open && root.contains(document.activeElement)) focus("window");
  }

  return { render, giveBack, focus, focusIfInside };
}
