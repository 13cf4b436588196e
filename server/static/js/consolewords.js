// What the Operator Console says, in words: a visitor's name and the page it is on, how
// long it has been on the site, a tab's notice, who is typing. Pure functions of the
// state: no DOM, no sockets. The drawing modules (consoleview.js, tabstrip.js,
// chatpane.js) put these words on the page.

/** What each notice effect of the tab machine (tabstate.js) says. */
export const NOTICE_TEXT = {
  taken: "Taken by another operator",
  visitor_left: "The visitor left",
  missed: "Nobody answered in time",
  ended: "The chat ended before you joined",
  operator_closed: "Chat closed",
  operator_offline: "Chat ended: operator offline",
  visitor_closed: "The visitor ended the chat",
  you_left: "You left the chat",
  call_gone: "This call ended while you were reconnecting",
  invite_gone: "This invitation ended while you were reconnecting",
  chat_gone: "This chat ended while you were reconnecting",
  checking: "Reconnected: waiting for the server's answer…",
};

// ------------------------------------------------------------------ telling visitors apart

const CODE_LETTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // no 0/O, 1/I: read out loud

/** A short name for a visitor, the same at every console and across reloads: "Visitor
 * 7KQM", from its id (FNV-1a), since the protocol gives visitors no name. */
export function visitorName(id) {
  if (!id) return "Visitor";
  let hash = 2166136261;
  for (const ch of id) hash = Math.imul(hash ^ ch.codePointAt(0), 16777619) >>> 0;
  let code = "";
  for (let i = 0; i < 4; i += 1) {
    code += CODE_LETTERS[hash % 32];
    hash = Math.floor(hash / 32);
  }
  return `Visitor ${code}`;
}

/** The page a visitor is on, in words: its title, else its path, else that it left. */
export function pageName(visitor) {
  if (!visitor) return "";
  if (visitor.title) return visitor.title;
  if (visitor.url) {
    try {
      const url = new URL(visitor.url);
      return `${url.pathname}${url.search}`;
    } catch {
      return visitor.url;
    }
  }
  return visitor.pages === 0 ? "left the site" : "";
}

/** How long ago `at` (server seconds) was: "under 1 min", "3 min", "1 h 5 min". */
export function since(at, now = Date.now() / 1000) {
  const minutes = Math.floor(Math.max(0, now - at) / 60);
  if (minutes < 1) return "under 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function onSite(visitor) {
  return visitor && visitor.arrived_at && visitor.pages !== 0 ? since(visitor.arrived_at) : null;
}

export function tabVisitor(tab) {
  return (tab.info && tab.info.visitor) || null;
}

export function noticeText(tab) {
  if (!tab.notice) return null;
  if (tab.notice === "refused") return tab.refusal;
  return NOTICE_TEXT[tab.notice] || tab.notice;
}

/** "Visitor is typing…", "Visitor and Bob are typing…" (the others in this tab's chat). */
export function typingText(tab) {
  const names = Object.values(tab.typing || {});
  if (!names.length) return null;
  return `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} typing…`;
}
