// The Control Panel: operators, chat button codes, settings, transcripts, offline
// messages and visitor-id conflicts. Every call carries the admin's bearer token in a
// header (never a cookie), which is what keeps these forms safe from CSRF.

import { $, el, logOut, loginForm } from "./client.js";

let token = sessionStorage.getItem("ringlab.token");

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) {
    sessionStorage.removeItem("ringlab.token");
    location.reload();
  }
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data ? data.message : response.statusText);
  return data;
}

const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "");

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

function status(text, ok = true) {
  return el("p", { class: ok ? "ok" : "error", role: "status", data: { testid: "result" } }, text);
}

// ------------------------------------------------------------------ views

const views = {
  async operators(view) {
    const ops = await api("GET", "/api/operators");
    const result = el("div");
    const rows = ops.map((o) => el("tr", { data: { testid: "operator-row", login: o.login } },
      el("td", {}, o.name), el("td", {}, o.login), el("td", {}, o.is_admin ? "admin" : ""),
      el("td", {}, o.status),
      el("td", {},
        el("button", { data: { testid: "reset-password" }, onclick: async () => {
          const password = prompt(`New password for ${o.login} (at least 8 characters)`);
          if (!password) return;
          try {
            await api("POST", `/api/operators/${o.id}/password`, { password });
            result.replaceChildren(status(`Password of ${o.login} changed.`));
          } catch (e) { result.replaceChildren(status(e.message, false)); }
        } }, "Reset password"), " ",
        el("button", { data: { testid: "remove-operator" }, onclick: async () => {
          if (!confirm(`Remove ${o.login}?`)) return;
          try { await api("DELETE", `/api/operators/${o.id}`); show("operators"); }
          catch (e) { result.replaceChildren(status(e.message, false)); }
        } }, "Remove"))));
    const form = el("form", { class: "inline", data: { testid: "add-operator" } },
      el("label", {}, "Login ", el("input", { name: "login", required: "" })),
      el("label", {}, "Name ", el("input", { name: "name", required: "" })),
      el("label", {}, "Password ", el("input", { name: "password", type: "password", minlength: "8", required: "" })),
      el("label", {}, el("input", { name: "is_admin", type: "checkbox" }), " admin"),
      el("button", { type: "submit" }, "Add operator"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      try {
        await api("POST", "/api/operators", {
          login: data.get("login"), name: data.get("name"), password: data.get("password"),
          is_admin: data.get("is_admin") === "on",
        });
        show("operators");
      } catch (err) { result.replaceChildren(status(err.message, false)); }
    });
    view.replaceChildren(el("h1", {}, "Operators"),
      table(["Name", "Login", "Role", "Status", "Actions"], rows), form, result);
  },

  async buttons(view) {
    const buttons = await api("GET", "/api/buttons");
    view.replaceChildren(el("h1", {}, "Chat Button Codes"),
      el("p", {}, "Paste this code, exactly as it is, into every page of your website that should show the chat button."),
      ...buttons.flatMap((b) => {
        const copied = el("span", { class: "ok" });
        return [
          el("h2", {}, b.name, " ", el("small", {}, `(${b.id})`)),
          el("pre", { data: { testid: "button-snippet", button: b.id } }, b.snippet),
          el("button", { data: { testid: "copy-snippet" }, onclick: async () => {
            try { await navigator.clipboard.writeText(b.snippet); copied.textContent = " Copied."; }
            catch { copied.textContent = " Select the code and copy it."; }
          } }, "Copy"), copied,
        ];
      }),
      el("div", { class: "explain" },
        el("h2", {}, "What an incorrect code does"),
        el("p", {}, "The widget gives every visitor an id of its own and keeps it across visits. " +
          "If the code on a page was copied from a page that a browser had already rendered, " +
          "it can carry one visitor's id; a cached page can hand every visitor the same id. " +
          "Then several visitors present one id: with the legacy binding they are merged into " +
          "one chat and one console tab, and they read each other's messages. The " +
          "Visitor-id conflicts page lists the pages where this was seen. Use the code above, " +
          "which carries no visitor id, or switch the binding to strict in Settings.")));
  },

  async settings(view) {
    const settings = await api("GET", "/api/settings");
    const result = el("div");
    const form = el("form", { class: "stack", data: { testid: "settings" } },
      el("label", {}, "Ring timeout (seconds)", el("input", { name: "ring_timeout", type: "number", min: "1", value: String(settings.ring_timeout) })),
      el("label", {}, "Max concurrent chats per operator", el("input", { name: "max_chats", type: "number", min: "1", value: String(settings.max_chats) })),
      el("label", {}, "Visitor-id binding",
        el("select", { name: "binding", "aria-describedby": "binding-hint" },
          el("option", { value: "legacy" }, "legacy"),
          el("option", { value: "strict" }, "strict"))),
      el("p", { id: "binding-hint", class: "hint" },
        "legacy: a second page with the same visitor id joins that visitor. ",
        "strict: a second page gets a fresh visitor id."),
      el("button", { type: "submit" }, "Save"));
    form.elements.binding.value = settings.binding;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      try {
        await api("PUT", "/api/settings", {
          ring_timeout: Number(data.get("ring_timeout")), max_chats: Number(data.get("max_chats")),
          binding: data.get("binding"),
        });
        result.replaceChildren(status("Saved."));
      } catch (err) { result.replaceChildren(status(err.message, false)); }
    });
    view.replaceChildren(el("h1", {}, "Settings"), form, result);
  },

  async transcripts(view, before = null) {
    const page = await api("GET", `/api/transcripts${before ? `?before=${encodeURIComponent(before)}` : ""}`);
    const rooms = page.transcripts;
    const shown = el("div");
    const rows = rooms.map((r) => el("tr", { data: { testid: "transcript-row" } },
      el("td", {}, when(r.opened_at)), el("td", {}, r.visitor_id), el("td", {}, r.operators.join(", ")),
      el("td", {}, String(r.messages)), el("td", {}, r.close_reason || r.state),
      el("td", {}, el("button", { data: { testid: "view-transcript" }, onclick: async () => {
        const messages = await api("GET", `/api/transcripts/${r.id}`);
        shown.replaceChildren(el("h2", {}, `Chat ${r.id}`),
          el("ol", { class: "transcript", data: { testid: "transcript" } }, ...messages.map((m) =>
            el("li", {}, el("span", { class: "who" }, `${m.name}: `), el("span", { class: "text" }, m.text)))));
      } }, "View"))));
    const older = page.next
      ? el("button", { data: { testid: "older-transcripts" }, onclick: () => views.transcripts(view, page.next) }, "Older chats")
      : "";
    view.replaceChildren(el("h1", {}, "Transcripts"),
      table(["Opened", "Visitor", "Operators", "Messages", "Ended", "Transcript"], rows), older, shown);
  },

  async offline(view) {
    const messages = await api("GET", "/api/offline-messages");
    view.replaceChildren(el("h1", {}, "Offline messages"),
      table(["When", "Name", "Email", "Message"], messages.map((m) => el("tr", { data: { testid: "offline-row" } },
        el("td", {}, when(m.at)), el("td", {}, m.name), el("td", {}, m.email), el("td", {}, m.text)))));
  },

  async conflicts(view) {
    const conflicts = await api("GET", "/api/conflicts");
    view.replaceChildren(el("h1", {}, "Visitor-id conflicts"),
      el("p", { class: "explain" }, "Possible incorrect button code on these pages: two pages were open at once " +
        "with the same visitor id. See Chat Button Codes for the right code."),
      table(["When", "Visitor id", "First page", "Second page", "Binding", "Second page got"],
        conflicts.map((c) => el("tr", { data: { testid: "conflict-row" } },
          el("td", {}, when(c.at)), el("td", {}, c.visitor_id), el("td", {}, c.first_url),
          el("td", {}, c.second_url), el("td", {}, c.binding), el("td", {}, c.assigned_visitor_id)))));
  },
};

async function show(name) {
  const view = $("view");
  for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("current", a.hash === `#${name}`);
  try {
    await views[name](view);
  } catch (e) {
    view.replaceChildren(status(e.message, false));
  }
}

function route() {
  const name = location.hash.slice(1);
  show(name in views ? name : "operators");
}

async function start() {
  try {
    await api("GET", "/api/operators");
  } catch (e) {
    $("login-error").textContent = e.message; // not an administrator
    $("login").hidden = false;
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  window.addEventListener("hashchange", route);
  route();
}

loginForm((t) => {
  token = t;
  start();
});
$("logout").addEventListener("click", (e) => {
  e.preventDefault();
  logOut();
});

if (token) start();
