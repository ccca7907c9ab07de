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

  window.CM = { t, el, api, login, session, clearSession, requireLogin, newId, errorText, lang, setOffline };
  document.addEventListener("DOMContentLoaded", setupChrome);
})();
