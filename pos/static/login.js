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
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/home";
  });
});
