/* creditmart tablet shell: translations, session, API calls that survive a lost network and an expired
   login, DOM building that never parses user text as HTML. No framework, no build step. */
"use strict";
(function () {
  const strings = JSON.parse(document.getElementById("i18n").textContent);
  const TOKEN = "cm.token", USER = "cm.user";

  function t(key, params) {
    let text = strings[key] || key;
    for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(String(value));
    return text;
  }

  /* el("li", {class: "row", dataset: {id: 3}}, "text", child) — text always goes in as a text node. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function session() {
    const token = localStorage.getItem(TOKEN);
    const user = JSON.parse(localStorage.getItem(USER) || "null");
    if (!token || !user || user.exp * 1000 < Date.now()) return null;
    return { token, user };
  }

  function saveSession(answer, username) {
    const payload = JSON.parse(atob(answer.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const user = { username, role: answer.role, store: answer.store, exp: payload.exp };
    localStorage.setItem(TOKEN, answer.access_token);
    localStorage.setItem(USER, JSON.stringify(user));
    return user;
  }

  function clearSession() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USER);
  }

  function lang() { return document.documentElement.lang || "zh-CN"; }

  const banner = () => document.getElementById("net-banner");
  function setOffline(offline) {
    const b = banner();
    if (b) b.hidden = !offline;
    document.body.classList.toggle("offline", offline);
  }

  async function login(username, password) {
    const response = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": lang() },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return { ok: false, status: response.status, body };
    return { ok: true, user: saveSession(body, username) };
  }

  /* An expired session asks for the password in a dialog and resumes the very same call, so a cart or a
     half-filled form is never lost. */
  let reloginPending = null;
  function relogin() {
    if (reloginPending) return reloginPending;
    const dialog = document.getElementById("relogin");
    const user = JSON.parse(localStorage.getItem(USER) || "null");
    if (!dialog || !user) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return new Promise(() => {}); }
    reloginPending = new Promise((resolve) => {
      const form = document.getElementById("relogin-form");
      const error = document.getElementById("relogin-error");
      const onSubmit = async (event) => {
        event.preventDefault();
        const result = await login(user.username, document.getElementById("relogin-password").value);
        if (!result.ok) { error.hidden = false; return; }
        error.hidden = true;
        form.removeEventListener("submit", onSubmit);
        dialog.close();
        reloginPending = null;
        resolve();
      };
      form.addEventListener("submit", onSubmit);
      dialog.showModal();
    });
    return reloginPending;
  }

  /* api("POST", "/sales", body) → {status, ok, body}. A network failure shows the banner and retries the
     same request (same body, same client id) until the server answers: a sale is never sent twice because
     the server answers a replayed id with the original result. */
  async function api(method, path, body, options) {
    const opts = Object.assign({ retryNetwork: true, raw: false }, options || {});
    let delay = 500;
    for (;;) {
      const s = session();
      if (!s) { await relogin(); continue; }
      let response;
      try {
        response = await fetch("/api/v1" + path, {
          method,
          headers: Object.assign({ "Accept-Language": lang(), Authorization: "Bearer " + s.token },
                                 body === undefined ? {} : { "Content-Type": "application/json" }),
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (networkError) {
        if (!opts.retryNetwork) throw networkError;
        setOffline(true);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      setOffline(false);
      if (response.status === 401) { clearSessionTokenOnly(); await relogin(); continue; }
      if (opts.raw) return response;
      const data = await response.json().catch(() => ({}));
      return { status: response.status, ok: response.ok, body: data };
    }
  }

  function clearSessionTokenOnly() { localStorage.removeItem(TOKEN); }

  function errorText(answer) {
    const error = answer && answer.body && answer.body.error;
    return error ? error.message : t("common.error");
  }

  function requireLogin() {
    const s = session();
    if (!s) {
      if (!localStorage.getItem(USER)) {
        location.href = "/login?next=" + encodeURIComponent(location.pathname);
        return null;
      }
    }
    return JSON.parse(localStorage.getItem(USER));
  }

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function setupChrome() {
    const user = JSON.parse(localStorage.getItem(USER) || "null");
    document.querySelectorAll(".nav-link[data-roles]").forEach((link) => {
      link.hidden = !user || !link.dataset.roles.split(" ").includes(user.role);
      if (link.closest("#nav") && link.pathname === location.pathname) link.classList.add("active");
    });
    const who = document.getElementById("who");
    if (who && user) who.textContent = `${user.username} · ${t("role." + user.role)}${user.store ? " · " + user.store : ""}`;
    const logout = document.getElementById("logout");
    if (logout && user) {
      logout.hidden = false;
      logout.addEventListener("click", async () => {
        try { await api("POST", "/auth/logout", {}, { retryNetwork: false }); } catch (e) { /* offline: forget locally */ }
        clearSession();
        location.href = "/login";
      });
    }
    document.getElementById("lang-switch").addEventListener("click", async () => {
      const next = lang() === "en" ? "zh-CN" : "en";
      document.cookie = `lang=${next}; path=/; max-age=31536000; samesite=lax`;
      if (session()) {
        try { await api("PUT", "/auth/me/language", { language: next }, { retryNetwork: false }); } catch (e) { /* cookie suffices */ }
      }
      location.reload();
    });
    window.addEventListener("online", () => setOffline(false));
    window.addEventListener("offline", () => setOffline(true));
  }

  function currentUser() { return JSON.parse(localStorage.getItem(USER) || "null"); }
  function hasRole(...roles) { const u = currentUser(); return !!u && roles.includes(u.role); }

  /* Exactly-once sends: the request (with its client id) is kept in sessionStorage until the server answers,
     so a reload, a lost network or an expired login resends the very same request and the server answers a
     replay with the original result. A 5xx keeps it too: the same id is sent again on the next try. */
  const PENDING = "cm.pending.";
  function pending(key) { return JSON.parse(sessionStorage.getItem(PENDING + key) || "null"); }
  function forgetPending(key) { sessionStorage.removeItem(PENDING + key); }
  async function sendOnce(key, request) {
    sessionStorage.setItem(PENDING + key, JSON.stringify(request));
    const answer = await api(request.method, request.path, request.body);
    if (answer.status < 500) forgetPending(key);
    return answer;
  }

  /* Times are stored in UTC and shown in Asia/Shanghai, whatever the tablet's clock zone. */
  function formatTime(iso, withDate) {
    if (!iso) return "";
    const options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false };
    if (withDate !== false) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
    return new Date(iso).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", options);
  }

  function formatDuration(ms) {
    const minutes = Math.max(0, Math.floor(ms / 60000));
    return t("tablet.duration", { h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, "0") });
  }

  /* A status line: text only, with a class for its tone (ok, error, warn, muted). */
  function say(node, text, tone) {
    if (!node) return;
    node.textContent = text || "";
    node.className = "message" + (tone ? " " + tone : "");
    node.hidden = !text;
  }

  /* A modal built on the fly: a message, an optional required text field, confirm and cancel.
     Resolves to the field's value (or true) on confirm, null on cancel. */
  function ask(options) {
    const o = Object.assign({ message: "", field: null, confirm: t("common.confirm"), danger: false }, options);
    return new Promise((resolve) => {
      const input = o.field ? el("input", { type: "text", maxlength: o.field.max || 200, required: true,
                                             id: "ask-field", autocomplete: "off" }) : null;
      const error = el("p", { class: "error", hidden: true }, t("tablet.required"));
      const form = el("form", { method: "dialog", class: "stack" },
        el("p", { class: "ask-message" }, o.message),
        input ? el("label", {}, o.field.label, input) : null, error,
        el("div", { class: "row end" },
          el("button", { type: "button", class: "btn", id: "ask-cancel" }, t("common.cancel")),
          el("button", { type: "submit", class: "btn " + (o.danger ? "btn-danger" : "btn-primary"), id: "ask-ok" },
             o.confirm)));
      const dialog = el("dialog", { class: "dialog", id: "ask" }, form);
      const done = (value) => { dialog.close(); dialog.remove(); resolve(value); };
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input && !input.value.trim()) { error.hidden = false; input.focus(); return; }
        done(input ? input.value.trim() : true);
      });
      dialog.addEventListener("cancel", (event) => { event.preventDefault(); done(null); });
      form.querySelector("#ask-cancel").addEventListener("click", () => done(null));
      document.body.append(dialog);
      dialog.showModal();
      if (input) input.focus();
    });
  }

  /* Tabs from links to #name and sections #tab-name; the hash keeps the tab across reloads. */
  function tabs(onChange) {
    const links = [...document.querySelectorAll(".tabs a[href^='#']")].filter((a) => !a.hidden);
    const show = () => {
      const wanted = location.hash.slice(1);
      const current = links.find((a) => a.getAttribute("href") === "#" + wanted) || links[0];
      if (!current) return;
      for (const a of links) {
        const on = a === current;
        a.classList.toggle("active", on);
        a.setAttribute("aria-selected", on ? "true" : "false");
        document.getElementById("tab-" + a.getAttribute("href").slice(1)).hidden = !on;
      }
      if (onChange) onChange(current.getAttribute("href").slice(1));
    };
    window.addEventListener("hashchange", show);
    show();
  }

  /* A page for some roles only: others see why, instead of a page of refusals. */
  function requireRole(...roles) {
    const user = requireLogin();
    if (!user) return null;
    if (!roles.includes(user.role)) {
      const main = document.querySelector("main");
      main.replaceChildren(el("p", { class: "card error", id: "no-access" }, t("tablet.no_access")));
      return null;
    }
    return user;
  }

  /* A print job as it will come out of the receipt printer (GET /print-jobs/{id}/preview), in a dialog. The
     server's HTML has every text escaped; the iframe is sandboxed without scripts all the same. */
  async function printPreview(jobId) {
    const response = await api("GET", `/print-jobs/${encodeURIComponent(jobId)}/preview`, undefined, { raw: true });
    if (!response.ok) return false;
    const html = await response.text();
    let dialog = document.getElementById("print-preview");
    if (!dialog) {
      dialog = el("dialog", { id: "print-preview", class: "dialog wide", "aria-label": t("print.preview") },
        el("iframe", { class: "print-preview-frame", sandbox: "", title: t("print.preview") }),
        el("div", { class: "row end" },
           el("button", { type: "button", class: "btn", onclick: () => dialog.close() }, t("common.close"))));
      document.body.append(dialog);
    }
    dialog.querySelector("iframe").srcdoc = html;
    dialog.showModal();
    return true;
  }

  /* Sends a shelf label or a member card to the shop's receipt printer: POST `path`, then says it is queued (or
     why not) in `node`, with a preview of what will print. */
  async function printOnReceiptPrinter(path, body, node, queuedText) {
    const answer = await api("POST", path, body || {});
    if (!answer.ok) { say(node, errorText(answer), "error"); return null; }
    say(node, queuedText || t("print.queued_notice"), "ok");
    const preview = el("button", { type: "button", class: "btn btn-ghost print-preview-open",
                                   onclick: () => printPreview(answer.body.job_id) }, t("print.preview"));
    node.append(" ", preview);
    return answer.body;
  }

  window.CM = { t, el, api, login, session, clearSession, requireLogin, newId, errorText, lang, setOffline,
                currentUser, hasRole, pending, forgetPending, sendOnce, formatTime, formatDuration, say, ask, tabs,
                requireRole, printPreview, printOnReceiptPrinter };
  document.addEventListener("DOMContentLoaded", setupChrome);
})();
