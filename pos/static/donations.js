/* Donations and hand-entered hours (捐赠与补录): a coordinator or manager scans a member's card (or chooses one of the
   shop's organisations), then records a cash donation, a goods donation (scanned into lines) or volunteer hours
   from a paper sheet. Each record waits for a manager's approval; the points shown before confirming are worked
   out here from the same rates, and the server's answer is what is recorded.

   The donor, the goods lines and the forms' fields live in sessionStorage, so a reload (or the language switch)
   keeps them. A record's request, with its client id, is kept until the server answers (CM.sendOnce): a lost
   network, a reload or an expired login sends the very same request again, and a resend of the same facts after
   a server error reuses the id, so nothing is recorded twice. A refusal clears nothing. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("coordinator", "manager");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const SEND = "contribution";        // CM.sendOnce's key for the record being sent
  const STATE = "cm.donations.state";
  const RECORDED = "cm.donations.recorded";
  const MAX_FEN = 100000000;          // one million yuan, the server's limit
  const FORMS = { cash: "donation", goods: "donation_goods", hours: "volunteer_hours" };
  const FIELDS = ["cash-amount", "cash-note", "goods-note", "hours-date", "hours-start", "hours-h", "hours-m",
                  "hours-category", "hours-note"];
  const scan = $("scan");

  let state = JSON.parse(sessionStorage.getItem(STATE) || "null") || { donor: null, lines: [], fields: {} };
  let recorded = JSON.parse(sessionStorage.getItem(RECORDED) || "[]");  // this session's records, newest first
  let rates = null;          // GET /earning/rates
  let categories = [];       // GET /activity-categories
  let tab = "cash";
  let busy = false;
  let shown = null;          // the contribution id in the result panel
  const watching = new Map();  // contribution id → the generation of its receipt's watch

  const save = () => sessionStorage.setItem(STATE, JSON.stringify(state));
  const saveRecorded = () => sessionStorage.setItem(RECORDED, JSON.stringify(recorded));
  const message = (text, tone) => CM.say($("scan-message"), text, tone);
  const formMessage = (form, text, tone) => CM.say($(form + "-message"), text, tone);
  const focusScan = () => scan.focus({ preventScroll: true });
  // Once a CM.ask dialog has closed, the scan field can be the active element and yet not take typed text (seen in
  // Chromium: the text selection is left outside it): a scanner's next code would be lost. Focus it anew.
  const refocusScan = () => { scan.blur(); focusScan(); };
  const points = (n) => t("tablet.points_n", { n });
  const categoryName = (c) => (CM.lang() === "en" ? c.name_en : c.name_zh);
  const formOf = (kind) => Object.keys(FORMS).find((form) => FORMS[form] === kind ||
                                                              (form === "cash" && kind === "donation_cash"));

  /* ---- money and points, in whole numbers only ---------------------------------------------------------- */

  /* "12.5" → {fen: 1250}; or {error, params}. Full-width digits and a ¥ sign or 元 are accepted; at most two
     decimals; no floats (the yuan and the fen are read as separate integers). */
  function parseYuan(raw) {
    const text = String(raw || "").normalize("NFKC").replace(/\s+/g, "").replace(/^¥/, "").replace(/元$/, "");
    if (!text) return { error: "tablet.donations.amount_empty" };
    if (text.startsWith("-")) return { error: "tablet.donations.amount_positive" };
    const parts = /^(\d*)(?:\.(\d*))?$/.exec(text);
    if (!parts || (!parts[1] && !parts[2])) return { error: "tablet.donations.amount_format" };
    const whole = parts[1].replace(/^0+(?=\d)/, "");
    const decimals = parts[2] || "";
    if (decimals.length > 2) return { error: "tablet.donations.amount_decimals" };
    const maxYuan = MAX_FEN / 100;
    if (whole.length > String(maxYuan).length) return { error: "tablet.donations.amount_max", params: { max: maxYuan } };
    const fen = Number(whole || "0") * 100 + Number(decimals.padEnd(2, "0"));
    if (fen <= 0) return { error: "tablet.donations.amount_positive" };
    if (fen > MAX_FEN) return { error: "tablet.donations.amount_max", params: { max: maxYuan } };
    return { fen };
  }

  const yuan = (fen) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;

  /* The bureau's cash rate ("1", "0.5") in hundredths of a point per yuan, so fen × rate stays whole. */
  function cashRateHundredths() {
    const parts = rates && /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(rates.cash_points_per_yuan));
    return parts ? Number(parts[1]) * 100 + Number((parts[2] || "").padEnd(2, "0")) : null;
  }
  const cashPoints = (fen, hundredths) => Math.floor((fen * hundredths) / 10000);  // rounded down, as the server

  /* ---- the donor: a member's card, or one of the shop's organisations --------------------------------------- */
  function renderDonor() {
    const d = state.donor;
    $("donor-none").hidden = !!d;
    $("donor-info").hidden = !d;
    if (d) {
      $("donor-kind").textContent = t(d.type === "member" ? "tablet.donations.member" : "tablet.donations.org");
      $("donor-name").textContent = d.name;
      $("donor-card").textContent = d.card_number || "";
    }
    $("org-select").value = d && d.type === "organisation" ? d.organisation_id : "";
  }

  function setDonor(donor) {
    state.donor = donor;
    save();
    renderDonor();
    hideResult();
  }

  async function scanCard(code) {
    const answer = await CM.api("GET", "/cards/" + encodeURIComponent(code));
    if (!answer.ok) { message(CM.errorText(answer), "error"); return; }
    const m = answer.body;
    setDonor({ type: "member", card_number: m.card_number || code, member_id: m.member_id, name: m.name });
    message(t("tablet.donations.donor_ok", { name: m.name }), "ok");
  }

  async function loadOrganisations(select) {
    const answer = await CM.api("GET", "/organisations?store=" + encodeURIComponent(user.store));
    if (!answer.ok) return;
    const orgs = answer.body.organisations;
    $("org-select").replaceChildren(
      el("option", { value: "" }, t(orgs.length ? "tablet.donations.pick_org" : "tablet.donations.no_orgs")),
      ...orgs.map((o) => el("option", { value: o.organisation_id }, o.name)));
    if (select) setDonor({ type: "organisation", organisation_id: select.organisation_id, name: select.name });
    else renderDonor();
  }
  $("org-select").addEventListener("change", () => {
    const option = $("org-select").selectedOptions[0];
    if ($("org-select").value) {
      setDonor({ type: "organisation", organisation_id: $("org-select").value, name: option.textContent });
      message(t("tablet.donations.donor_ok", { name: option.textContent }), "ok");
    } else if (state.donor && state.donor.type === "organisation") {
      setDonor(null);
    }
    focusScan();
  });
  $("donor-clear").addEventListener("click", () => { if (!busy) { setDonor(null); message(""); } });

  // A manager registers an organisation donor (企业、商户) on the spot; the API allows managers only.
  $("org-add").hidden = user.role !== "manager";
  $("org-add").addEventListener("click", async () => {
    const name = await CM.ask({ message: t("tablet.donations.org_add"),
                                field: { label: t("tablet.donations.org_name"), max: 100 } });
    refocusScan();
    if (!name) return;
    const answer = await CM.api("POST", "/organisations", { id: CM.newId(), name, store: user.store });
    if (!answer.ok) { message(CM.errorText(answer), "error"); return; }
    await loadOrganisations(answer.body);
    message(t("tablet.donations.donor_ok", { name: answer.body.name }), "ok");
  });

  /* ---- scanning: a card is the donor, anything else is donated goods -------------------------------------- */
  async function onScan(code) {
    syncFields();  // a scan while a field had the focus: its characters were taken back out of it
    if (busy) { message(t("tablet.counter.wait"), "warn"); return; }
    if (CMScanner.isCard(code)) await scanCard(code);
    else {
      if (tab !== "goods") location.hash = "#goods";
      await scanGoods(code);
    }
    focusScan();
  }
  CMScanner.attach(scan, onScan);
  CMCamera.attach($("camera"), $("camera-dialog"), $("camera-video"), $("camera-message"), onScan);
  CMScanner.attachKeypad($("keypad"), scan);

  /* ---- goods: each scan adds one; the server values them (the product lookup is the counter's) ------------ */
  async function scanGoods(code) {
    const answer = await CM.api("POST", "/contributions/quote", { lines: [{ barcode: code, qty: 1 }] });
    if (!answer.ok) { message(`${code}: ${CM.errorText(answer)}`, "error"); return; }
    const p = answer.body.lines[0];
    const line = state.lines.find((l) => l.barcode === p.barcode);
    if (line) {
      line.qty += 1;
      line.price = p.points_price;
    } else {
      state.lines.push({ barcode: p.barcode, name: p.name, unit: p.unit, price: p.points_price, qty: 1 });
    }
    message(t("tablet.counter.added", { name: p.name }), "ok");
    hideResult();
    goodsChanged();
  }

  function goodsChanged() {
    save();
    renderGoods();
  }

  function renderGoods() {
    $("goods-lines").tBodies[0].replaceChildren(...state.lines.map((line) => el("tr", { dataset: { barcode: line.barcode } },
      el("td", {}, el("div", { class: "user-text line-name" }, line.name),
         el("div", { class: "muted small mono" }, line.barcode)),
      el("td", { class: "num" }, line.price),
      el("td", { class: "qty-col" }, el("div", { class: "stepper" },
        el("button", { type: "button", class: "btn step minus-btn", "aria-label": t("tablet.less"), disabled: busy,
                       onclick: () => step(line, -1) }, "−"),
        el("span", { class: "qty" }, line.qty),
        el("button", { type: "button", class: "btn step plus-btn", "aria-label": t("tablet.more_one"), disabled: busy,
                       onclick: () => step(line, 1) }, "+"))),
      el("td", { class: "num line-points" }, line.price * line.qty),
      el("td", {}, el("button", { type: "button", class: "btn btn-ghost remove", "aria-label": t("tablet.remove"),
                                  disabled: busy, onclick: () => remove(line) }, "✕")))));
    $("goods-empty").hidden = state.lines.length > 0;
    const units = state.lines.reduce((sum, l) => sum + l.qty, 0);
    const total = state.lines.reduce((sum, l) => sum + l.price * l.qty, 0);
    $("goods-total").textContent = state.lines.length
      ? t("tablet.donations.goods_total", { lines: state.lines.length, units, points: total }) : "";
    $("goods-clear").disabled = busy || !state.lines.length;
  }

  function step(line, delta) {
    if (busy) return;
    line.qty = Math.max(1, line.qty + delta);
    goodsChanged();
  }

  function remove(line) {
    if (busy) return;
    state.lines = state.lines.filter((l) => l !== line);
    goodsChanged();
  }

  $("goods-clear").addEventListener("click", async () => {
    if (busy || !state.lines.length) return;
    const ok = await CM.ask({ message: t("tablet.counter.clear_confirm") });
    refocusScan();
    if (!ok) return;
    state.lines = [];
    goodsChanged();
    formMessage("goods", "");
  });

  /* ---- the forms' fields, kept across a reload ---------------------------------------------------------- */
  function shanghaiNow() {
    const now = new Date();
    return { day: now.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" }),  // YYYY-MM-DD
             time: now.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" }) };
  }

  function restoreFields() {
    for (const id of FIELDS) if (state.fields[id] !== undefined) $(id).value = state.fields[id];
    $("hours-date").max = shanghaiNow().day;
    if (!$("hours-date").value) $("hours-date").value = shanghaiNow().day;
  }
  function syncFields() {
    for (const id of FIELDS) state.fields[id] = $(id).value;
    save();
    preview();
  }
  for (const id of FIELDS) {
    $(id).addEventListener("input", syncFields);
    $(id).addEventListener("change", syncFields);
  }

  function clearFields(ids) {
    for (const id of ids) { $(id).value = ""; delete state.fields[id]; }
    save();
  }

  /* ---- what each form would record, checked before anything is sent ------------------------------------- */
  function donorFields() {
    const d = state.donor;
    return d.type === "member" ? { card_number: d.card_number } : { organisation_id: d.organisation_id };
  }

  function buildCash() {
    const amount = parseYuan($("cash-amount").value);
    if (amount.error) return { error: t(amount.error, amount.params) };
    const hundredths = cashRateHundredths();
    const earned = hundredths === null ? null : cashPoints(amount.fen, hundredths);
    if (earned === 0) return { error: t("error.no_points") };
    const note = $("cash-note").value.trim();
    return { body: { kind: "donation", ...donorFields(), amount_fen: amount.fen, ...(note ? { note } : {}) },
             confirm: t("tablet.donations.confirm_cash", { name: state.donor.name, yuan: yuan(amount.fen),
                                                          points: earned ?? "?" }) };
  }

  function buildGoods() {
    if (!state.lines.length) return { error: t("tablet.donations.goods_hint") };
    const note = $("goods-note").value.trim();
    const units = state.lines.reduce((sum, l) => sum + l.qty, 0);
    const total = state.lines.reduce((sum, l) => sum + l.price * l.qty, 0);
    return { body: { kind: "donation_goods", ...donorFields(),
                     lines: state.lines.map((l) => ({ barcode: l.barcode, qty: l.qty })), ...(note ? { note } : {}) },
             confirm: t("tablet.donations.confirm_goods", { name: state.donor.name, units, points: total }) };
  }

  /* Hours: whole hours and minutes, 1 minute to 24 hours in all, starting at a date and time (Asia/Shanghai, UTC+8
     all year) that has passed. */
  function hoursDuration() {
    const h = $("hours-h").value.trim(), m = $("hours-m").value.trim();
    if (!h && !m) return { error: t("tablet.donations.duration_empty") };
    const hours = h ? Number(h) : 0, minutes = m ? Number(m) : 0;
    if (!Number.isInteger(hours) || !Number.isInteger(minutes) || hours < 0 || minutes < 0 || minutes > 59) {
      return { error: t("tablet.donations.duration_bad") };
    }
    const total = hours * 60 + minutes;
    if (total < 1 || total > 24 * 60) return { error: t("earning.limit.minutes_range") };
    return { minutes: total };
  }

  function selectedCategory() {
    return categories.find((c) => String(c.id) === $("hours-category").value) || null;
  }

  function buildHours() {
    if (state.donor.type !== "member") return { error: t("tablet.donations.hours_member_only") };
    const day = $("hours-date").value, time = $("hours-start").value;
    if (!day || !time) return { error: t("tablet.donations.start_required") };
    const startedAt = `${day}T${time}:00+08:00`;
    if (!(Date.parse(startedAt) <= Date.now())) return { error: t("tablet.donations.future") };
    const duration = hoursDuration();
    if (duration.error) return duration;
    const category = selectedCategory();
    if (!category) return { error: t("tablet.required") };
    const note = $("hours-note").value.trim();
    const earned = Math.floor((category.points_per_hour * duration.minutes) / 60);
    if (earned === 0) return { error: t("error.no_points") };
    return { body: { kind: "volunteer_hours", ...donorFields(), minutes: duration.minutes, started_at: startedAt,
                     category: category.id, ...(note ? { note } : {}) },
             confirm: t("tablet.donations.confirm_hours", { name: state.donor.name,
                                                           time: CM.formatDuration(duration.minutes * 60000),
                                                           start: `${day} ${time}`, points: earned }) };
  }

  const BUILD = { cash: buildCash, goods: buildGoods, hours: buildHours };

  /* The points each form would earn, as the user types. */
  function preview() {
    const hundredths = cashRateHundredths();
    $("cash-rate").textContent = rates ? t("tablet.donations.cash_rate", { rate: rates.cash_points_per_yuan }) : "";
    const amount = $("cash-amount").value.trim() ? parseYuan($("cash-amount").value) : null;
    if (!amount) CM.say($("cash-preview"), "");
    else if (amount.error) CM.say($("cash-preview"), t(amount.error, amount.params), "error");
    else if (hundredths !== null) {
      CM.say($("cash-preview"), t("tablet.donations.will_earn", { n: cashPoints(amount.fen, hundredths) }), "ok");
    }
    const duration = $("hours-h").value.trim() || $("hours-m").value.trim() ? hoursDuration() : null;
    const category = selectedCategory();
    if (!duration) CM.say($("hours-preview"), "");
    else if (duration.error) CM.say($("hours-preview"), duration.error, "error");
    else if (category) {
      CM.say($("hours-preview"), t("tablet.donations.will_earn", {
        n: Math.floor((category.points_per_hour * duration.minutes) / 60) }), "ok");
    }
  }

  /* ---- sending: exactly once ------------------------------------------------------------------------------ */
  /* A request's facts without its id, in one order, to tell a resend of the same record from a new one. */
  function canonical(body) {
    return JSON.stringify(Object.keys(body).filter((key) => key !== "id").sort().map((key) => [key, body[key]]));
  }

  async function submit(form) {
    if (busy) return;
    if (!state.donor) { formMessage(form, t("tablet.donations.need_donor"), "error"); focusScan(); return; }
    const built = BUILD[form]();
    if (built.error) { formMessage(form, built.error, "error"); return; }
    formMessage(form, "");
    const ok = await CM.ask({ message: built.confirm, confirm: t("tablet.donations.submit") });
    refocusScan();
    if (!ok) return;
    // The same facts as a request still waiting for its answer (a server error): the same id again.
    const left = CM.pending(SEND);
    const request = left && canonical(left.body) === canonical(built.body) ? left
      : { method: "POST", path: "/contributions", body: { id: CM.newId(), ...built.body } };
    send(request);
  }
  for (const form of Object.keys(FORMS)) {
    $(form + "-form").addEventListener("submit", (event) => { event.preventDefault(); submit(form); });
    $(form + "-resend").addEventListener("click", () => {
      const request = CM.pending(SEND);
      if (request) send(request);
    });
  }

  function setBusy(on) {
    busy = on;
    for (const form of Object.keys(FORMS)) $(form + "-submit").disabled = on;
    renderGoods();
  }

  async function send(request) {
    const form = formOf(request.body.kind);
    setBusy(true);
    $(form + "-resend").hidden = true;
    formMessage(form, t("tablet.sending"), "muted");
    const answer = await CM.sendOnce(SEND, request);
    setBusy(false);
    if (answer.ok) {
      formMessage(form, "");
      done(form, answer.body);
    } else if (answer.status >= 500) {
      // Kept: "retry" (or submitting the same again) sends the same id, so nothing is recorded twice.
      formMessage(form, CM.errorText(answer), "error");
      $(form + "-resend").hidden = false;
    } else {
      formMessage(form, refusal(answer), "error");
    }
    focusScan();
  }

  /* The server's refusal in the user's language, saying which limit, which lines, which fields. */
  function refusal(answer) {
    const error = answer.body && answer.body.error;
    if (!error) return CM.errorText(answer);
    const d = error.details || {};
    if (error.code === "limit_exceeded") {
      const key = "earning.limit." + d.limit;
      const which = t(key) !== key ? t(key) : error.message;
      let detail = "";
      if (d.limit === "daily_cap" && d.day) {
        detail = t("tablet.donations.cap_detail", { day: d.day, recorded: CM.formatDuration(d.recorded_minutes * 60000),
                                                   minutes: CM.formatDuration(d.minutes * 60000) });
      } else if (d.limit === "overlap" && d.started_at && d.ended_at) {
        detail = t("tablet.donations.overlap_detail", { start: CM.formatTime(d.started_at),
                                                       end: CM.formatTime(d.ended_at, false) });
      } else if (d.limit === "overlap" && d.checked_in_at) {
        detail = t("tablet.donations.overlap_open", { at: CM.formatTime(d.checked_in_at) });
      }
      return detail ? t("tablet.donations.with_detail", { message: which, detail }) : which;
    }
    if (error.code === "unknown_product" || error.code === "invalid_barcode") {
      const codes = d.barcodes || (d.barcode ? [d.barcode] : []);
      const named = codes.map((code) => {
        const line = state.lines.find((l) => l.barcode === code);
        return line ? `${line.name} (${code})` : code;
      });
      return named.length ? `${error.message} · ${named.join(t("tablet.list_sep"))}` : error.message;
    }
    if (error.code === "validation_error") {
      const labels = { amount_fen: t("tablet.donations.amount"), minutes: t("tablet.donations.duration"),
                       started_at: t("tablet.checkin.starts"), category: t("tablet.checkin.category"),
                       note: t("tablet.note"), card_number: t("tablet.card"), organisation_id: t("tablet.donations.org"),
                       lines: t("tablet.product") };
      const fields = [...new Set(Object.keys(d).map((f) => labels[f.split(".")[0]] || f))];
      return fields.length ? t("tablet.field_errors", { message: error.message, fields: fields.join(t("tablet.list_sep")) })
                           : error.message;
    }
    return error.message;
  }

  /* Recorded: the result with its points and, for a donation, the receipt on its way to the printer; the form
     and the donor are cleared for the next record (the date, start and category of hours stay: a paper sheet
     lists many people for one activity). */
  function done(form, c) {
    const entry = { contribution_id: c.contribution_id, kind: c.kind, status: c.status, points: c.points,
                    donor: c.donor.name, card_number: c.donor.card_number, amount_fen: c.amount_fen,
                    minutes: c.minutes, started_at: c.started_at, category: c.category, note: c.note,
                    lines: c.lines, recorded_at: c.recorded_at, receipt: c.receipt || null };
    recorded = [entry, ...recorded.filter((r) => r.contribution_id !== entry.contribution_id)];
    saveRecorded();
    if (form === "cash") clearFields(["cash-amount", "cash-note"]);
    if (form === "goods") { state.lines = []; clearFields(["goods-note"]); }
    if (form === "hours") clearFields(["hours-h", "hours-m", "hours-note"]);
    state.donor = null;
    save();
    renderDonor();
    renderGoods();
    preview();
    renderRecorded();
    showResult(entry);
    message(t("tablet.donations.next"), "muted");
    if (entry.receipt) watchReceipt(entry);
  }

  function showResult(entry) {
    shown = entry.contribution_id;
    $("result").hidden = false;
    $("result-text").textContent = t("tablet.donations.recorded", { name: entry.donor, points: entry.points });
    $("result-status").textContent = t("earning.status." + entry.status);
    $("result-receipt").hidden = !entry.receipt;
    CM.say($("receipt-problem"), "");
    if (entry.receipt) showReceipt(entry);
  }
  function hideResult() { $("result").hidden = true; shown = null; }

  function showReceipt(entry) {
    if (entry.contribution_id !== shown) return;
    const job = entry.receipt;
    $("receipt-status").textContent = t("print.status." + job.status);
    $("receipt-status").dataset.status = job.status;
    $("receipt-status").className = job.status === "printed" ? "ok" : job.status === "failed" || job.last_error ? "error" : "warn";
    CM.say($("receipt-problem"), job.status === "failed" || job.last_error
      ? t("tablet.donations.receipt_failed", { error: job.last_error || "" }) : "", "error");
  }

  /* The receipt's latest job, from the contribution's details, until it printed or failed (then a reprint). */
  async function watchReceipt(entry) {
    const id = entry.contribution_id;
    const generation = (watching.get(id) || 0) + 1;
    watching.set(id, generation);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, i < 6 ? 400 : 1500));
      if (watching.get(id) !== generation) return;
      let answer;
      try {
        answer = await CM.api("GET", "/contributions/" + encodeURIComponent(entry.contribution_id), undefined,
                              { retryNetwork: false });
      } catch (e) { continue; }
      if (watching.get(id) !== generation) return;
      if (!answer.ok || !answer.body.receipt) continue;
      entry.receipt = answer.body.receipt;
      entry.status = answer.body.status;
      saveRecorded();
      renderRecorded();
      showReceipt(entry);
      if (entry.receipt.status === "printed" || entry.receipt.status === "failed") return;
    }
  }

  async function reprint(entry) {
    const answer = await CM.api("POST", `/contributions/${encodeURIComponent(entry.contribution_id)}/receipt`, {});
    if (!answer.ok) {
      if (entry.contribution_id === shown) CM.say($("receipt-problem"), CM.errorText(answer), "error");
      else message(CM.errorText(answer), "error");
      return;
    }
    entry.receipt = { job_id: answer.body.job_id, status: answer.body.status, last_error: null };
    saveRecorded();
    if (entry.contribution_id !== shown) { message(t("print.queued_notice"), "ok"); showResult(entry); }
    renderRecorded();
    showReceipt(entry);
    watchReceipt(entry);
  }
  $("reprint").addEventListener("click", () => {
    const entry = recorded.find((r) => r.contribution_id === shown);
    if (entry) reprint(entry);
  });

  /* ---- what this tablet recorded in this session, newest first ------------------------------------------- */
  function what(r) {
    if (r.kind === "volunteer_hours") {
      const parts = [t("notice.minutes", { hours: Math.floor(r.minutes / 60), minutes: r.minutes % 60 })];
      if (r.category) parts.push(categoryName(r.category));
      if (r.started_at) parts.push(CM.formatTime(r.started_at));
      return parts.join(" · ");
    }
    if (r.kind === "donation_cash") return t("notice.cash", { yuan: yuan(r.amount_fen) });
    return t("notice.goods", { items: (r.lines || []).map((l) => `${l.name} × ${l.qty}`).join(t("tablet.list_sep")) });
  }

  function renderRecorded() {
    $("recorded").replaceChildren(...recorded.map((r) => el("li", { class: "card stack recorded-item",
                                                                     dataset: { id: r.contribution_id, kind: r.kind } },
      el("div", { class: "row spread" },
        el("span", {}, el("span", { class: "pill" }, t("earning.kind." + r.kind)), " ",
           el("strong", { class: "user-text" }, r.donor)),
        el("strong", { class: "plus" }, points(r.points))),
      el("div", { class: "user-text" }, what(r)),
      r.note ? el("div", { class: "user-text muted small recorded-note" }, r.note) : null,
      el("div", { class: "row spread small" },
        el("span", { class: "muted" }, `${CM.formatTime(r.recorded_at)} · ${t("earning.status." + r.status)}`),
        r.receipt ? el("span", { class: "row" },
          el("span", { class: "receipt-state", dataset: { status: r.receipt.status } },
             t("tablet.labelled", { label: t("print.kind.donation_receipt"), value: t("print.status." + r.receipt.status) })),
          el("button", { type: "button", class: "btn recorded-reprint", onclick: () => reprint(r) },
             t("tablet.donations.reprint"))) : null))));
    $("recorded-empty").hidden = recorded.length > 0;
  }

  /* ---- start ---------------------------------------------------------------------------------------------- */
  CM.tabs((name) => {
    tab = name;
    focusScan();
  });
  restoreFields();
  renderDonor();
  renderGoods();
  renderRecorded();
  (async () => {
    const [rateAnswer, categoryAnswer] = await Promise.all([CM.api("GET", "/earning/rates"),
                                                            CM.api("GET", "/activity-categories")]);
    if (rateAnswer.ok) rates = rateAnswer.body;
    if (categoryAnswer.ok) {
      categories = categoryAnswer.body.categories;
      $("hours-category").replaceChildren(...categories.map((c) => el("option", { value: c.id },
        t("tablet.checkin.category_rate", { name: categoryName(c), rate: c.points_per_hour }))));
      if (state.fields["hours-category"]) $("hours-category").value = state.fields["hours-category"];
    }
    preview();
    await loadOrganisations();
    // Receipts of this session still on their way to the printer (the page was reloaded meanwhile).
    recorded.filter((r) => r.receipt && !["printed", "failed"].includes(r.receipt.status)).slice(0, 5).forEach(watchReceipt);
    document.body.dataset.ready = "true";
    const left = CM.pending(SEND);
    if (left) {
      // The page was reloaded (or the tablet restarted) before the server answered: ask again, same id.
      message(t("tablet.donations.resuming"), "warn");
      location.hash = "#" + formOf(left.body.kind);
      send(left);
    }
  })();
  focusScan();
});
