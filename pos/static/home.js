"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireLogin();
  if (!user) return;
  document.getElementById("welcome").textContent = CM.t("home.welcome", { name: user.username });
});
