/* Members: find (by card, phone, last 4 digits or name), register with the resident's consent, print card sheets.
   A member card scanned anywhere on the page, whatever has the focus, opens that member (memberscan.js). */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("manager", "clerk");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const manager = user.role === "manager";
  document.querySelectorAll("[data-manager-only]").forEach((node) => { node.hidden = !manager; });
  CMMemberScan.attach($("scan-message"), null);

  CM.tabs((name) => {
    const first = { find: "find-q", register: "reg-name", print: "sheet-household" }[name];
    if (first && $(first)) $(first).focus();
  });

  /* ---- find ------------------------------------------------------------------------------------------- */
  async function find(q) {
    const query = new URLSearchParams({ q, limit: "50" });
    CM.say($("find-message"), t("common.loading"), "muted");
    const answer = await CM.api("GET", "/members?" + query);
    if (!answer.ok) { CM.say($("find-message"), CM.errorText(answer), "error"); return; }
    const rows = answer.body.members.map((m) => el("tr", { class: "link-row", dataset: { id: m.member_id } },
      el("td", { class: "user-text" }, el("a", { href: "/members/" + m.member_id }, m.name)),
      el("td", {}, m.phone_masked || "—"),
      el("td", { class: "user-text" }, m.household || "—"),
      el("td", { class: "mono" }, m.card_number || "—"),
      el("td", { class: "num" }, m.balance)));
    $("find-results").tBodies[0].replaceChildren(...rows);
    $("find-results").hidden = !rows.length;
    CM.say($("find-message"), rows.length ? t("tablet.members.found", { count: rows.length })
                                          : t("tablet.members.none"), rows.length ? "muted" : "warn");
  }
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $("find-q").value;
    // A scanned or typed number is normalised like any scan (full-width digits); a name is kept as written.
    const q = /^[\s0-9０-９]+$/.test(raw) ? CMScanner.normalise(raw) : raw.trim();
    find(q);
  });
  $("find-results").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (row && !event.target.closest("a")) location.href = "/members/" + row.dataset.id;
  });
  find("");

  /* ---- register -------------------------------------------------------------------------------------- */
  const consent = $("reg-consent");
  consent.addEventListener("change", () => { $("reg-submit").disabled = !consent.checked; });
  $("register-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("reg-name").value.trim();
    if (!name) { CM.say($("reg-message"), t("tablet.members.name_required"), "error"); $("reg-name").focus(); return; }
    if (!consent.checked) { CM.say($("reg-message"), t("tablet.members.consent_required"), "error"); return; }
    const phone = CMScanner.normalise($("reg-phone").value);
    const household = $("reg-household").value.trim();
    // One id per filled-in form: pressing the button again after a lost answer registers nobody twice.
    const previous = CM.pending("register");
    const body = { id: previous ? previous.body.id : CM.newId(), name, store: user.store, consent: true };
    if (phone) body.phone = phone;
    if (household) body.household = household;
    if (previous && JSON.stringify({ ...previous.body, id: 0 }) !== JSON.stringify({ ...body, id: 0 })) body.id = CM.newId();
    $("reg-submit").disabled = true;
    CM.say($("reg-message"), t("tablet.sending"), "muted");
    const answer = await CM.sendOnce("register", { method: "POST", path: "/members", body });
    $("reg-submit").disabled = !consent.checked;
    if (!answer.ok) { CM.say($("reg-message"), fieldErrors(answer), "error"); return; }
    CM.say($("reg-message"), "");
    $("register-form").reset();
    $("reg-submit").disabled = true;
    $("reg-done-text").textContent = t("tablet.members.registered", { name: answer.body.name });
    $("reg-card").textContent = answer.body.card_number;
    $("reg-open").href = "/members/" + answer.body.member_id;
    $("register-form").hidden = true;
    $("reg-done").hidden = false;
  });
  $("reg-another").addEventListener("click", () => {
    $("reg-done").hidden = true;
    $("register-form").hidden = false;
    $("reg-name").focus();
  });

  function fieldErrors(answer) {
    const error = answer.body && answer.body.error;
    if (!error) return CM.errorText(answer);
    const labels = { name: t("tablet.name"), phone: t("tablet.phone"), household: t("tablet.household") };
    const fields = Object.keys(error.details || {}).filter((f) => labels[f]).map((f) => labels[f]);
    return fields.length ? t("tablet.field_errors", { message: error.message, fields: fields.join(t("tablet.list_sep")) })
                         : error.message;
  }

  /* ---- print card sheets (manager) --------------------------------------------------------------------- */
  const PER_SHEET_REQUEST = 100;
  $("sheet-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ limit: String(PER_SHEET_REQUEST),
                                        offset: String(Math.max(0, (parseInt($("sheet-offset").value, 10) || 1) - 1)) });
    const household = $("sheet-household").value.trim();
    if (household) query.set("household", household);
    CM.say($("sheet-message"), t("common.loading"), "muted");
    const response = await CM.api("GET", "/members/cards/sheet?" + query, undefined, { raw: true });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      CM.say($("sheet-message"), CM.errorText({ body }), "error");
      return;
    }
    // srcdoc keeps the sheet's own CSP meta; the sandbox (no allow-scripts) runs nothing in it.
    $("sheet-frame").srcdoc = await response.text();
    $("sheet-frame").hidden = false;
    $("sheet-print").disabled = false;
    CM.say($("sheet-message"), t("members.sheet_hint"), "muted");
  });
  $("sheet-print").addEventListener("click", () => $("sheet-frame").contentWindow.print());
});
