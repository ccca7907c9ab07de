"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const result = await CM.login(document.getElementById("username").value.trim(),
                                  document.getElementById("password").value);
    if (!result.ok) {
      error.textContent = result.status === 429 ? result.body.error.message : CM.t("login.failed");
      error.hidden = false;
      return;
    }
    // The language this user chose last time (remembered by the server) wins over this tablet's cookie.
    try {
      const me = await CM.api("GET", "/auth/me", undefined, { retryNetwork: false });
      if (me.ok && me.body.language && me.body.language !== CM.lang()) {
        document.cookie = `lang=${me.body.language}; path=/; max-age=31536000; samesite=lax`;
      }
    } catch (e) { /* offline: keep the cookie */ }
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/home";
  });
});
