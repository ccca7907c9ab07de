/* Volunteer check-in (签到): choose or open an activity, scan members' cards in and out, see who is present and
   for how long, and submit: everyone still present is checked out, and each stay becomes hours waiting for a
   manager's approval. The server decides minutes and points; this page only shows them.

   Bulk entry (批量录入), the second tab: for a paper sign-in sheet where many members did the same hours. Each card
   scanned joins a list (once); one duration, start and note for all; one request, all or nothing. The list and
   the form live in sessionStorage per activity (a reload or the language switch keeps them); the request, with its
   client id, is kept until the server answers (CM.sendOnce), so a lost answer or a reload sends the very same
   request again. A refusal clears nothing and marks each refused card in the list with the server's reason. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("coordinator", "manager");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const CURRENT = "cm.checkin.activity." + user.store;
  const scan = $("scan");
  let activity = null;       // GET /activities/{id}, with its attendance
  let busy = false;
  const message = (text, tone) => CM.say($("scan-message"), text, tone);
  const focusScan = () => scan.focus({ preventScroll: true });
  // After a CM.ask dialog the scan field can be the active element and yet not take typed text: focus it anew.
  const refocusScan = () => { scan.blur(); focusScan(); };
  const categoryName = (c) => (CM.lang() === "en" ? c.name_en : c.name_zh);

  /* ---- choosing or opening an activity ---------------------------------------------------------------- */
  async function showChooser() {
    activity = null;
    document.body.dataset.activity = "";
    $("running").hidden = true;
    $("choose").hidden = false;
    // No stale choice while the list reloads: the list is rebuilt from the server's answer.
    $("activity-select").replaceChildren(el("option", { value: "" }, t("common.loading")));
    $("activity-open").disabled = true;
    const now = new Date();
    $("na-starts").value = now.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" });
    const [list, categories] = await Promise.all([CM.api("GET", "/activities?limit=30"),
                                                  CM.api("GET", "/activity-categories")]);
    if (list.ok) {
      $("activity-select").replaceChildren(el("option", { value: "" }, t("tablet.checkin.pick")),
        ...list.body.activities.map((a) => el("option", { value: a.activity_id },
          `${CM.formatTime(a.starts_at)} · ${a.title} · ${categoryName(a.category)}`)));
    }
    if (categories.ok) {
      $("na-category").replaceChildren(...categories.body.categories.map((c) => el("option", { value: c.id },
        t("tablet.checkin.category_rate", { name: categoryName(c), rate: c.points_per_hour }))));
    }
  }
  $("activity-select").addEventListener("change", () => { $("activity-open").disabled = !$("activity-select").value; });
  $("activity-open").addEventListener("click", () => { if ($("activity-select").value) open($("activity-select").value); });

  $("new-activity").addEventListener("submit", async (event) => {
    event.preventDefault();
    const title = $("na-title").value.trim();
    if (!title || !$("na-starts").value) { CM.say($("na-message"), t("tablet.required"), "error"); return; }
    const body = { id: CM.newId(), title, category: parseInt($("na-category").value, 10), store: user.store,
                   starts_at: shanghaiToday($("na-starts").value) };
    const answer = await CM.sendOnce("activity", { method: "POST", path: "/activities", body });
    if (!answer.ok) { CM.say($("na-message"), CM.errorText(answer), "error"); return; }
    CM.say($("na-message"), "");
    $("new-activity").reset();
    open(answer.body.activity_id);
  });

  /* "HH:MM" today in Asia/Shanghai (UTC+8, no summer time) as ISO 8601 with its offset. */
  function shanghaiToday(hhmm) {
    const day = new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });  // YYYY-MM-DD
    return `${day}T${hhmm}:00+08:00`;
  }

  async function open(activityId) {
    const answer = await CM.api("GET", "/activities/" + encodeURIComponent(activityId));
    if (!answer.ok) {
      localStorage.removeItem(CURRENT);
      CM.say($("na-message"), CM.errorText(answer), "error");
      showChooser();
      return;
    }
    localStorage.setItem(CURRENT, activityId);
    activity = answer.body;
    document.body.dataset.activity = activity.activity_id;
    $("choose").hidden = true;
    $("running").hidden = false;
    $("act-title").textContent = activity.title;
    $("act-meta").textContent = t("tablet.checkin.meta", {
      category: categoryName(activity.category), rate: activity.category.points_per_hour,
      starts: CM.formatTime(activity.starts_at), organiser: activity.organiser });
    render();
    loadBulk();
    scan.focus();
  }
  $("act-change").addEventListener("click", () => { localStorage.removeItem(CURRENT); showChooser(); });

  async function reload() {
    const answer = await CM.api("GET", "/activities/" + encodeURIComponent(activity.activity_id));
    if (answer.ok) { activity = answer.body; render(); }
  }

  /* ---- who is here -------------------------------------------------------------------------------------- */
  function render() {
    if (!activity) return;
    const present = activity.attendance.filter((a) => a.present);
    const gone = activity.attendance.filter((a) => !a.present);
    $("present-title").textContent = t("tablet.checkin.present", { count: present.length });
    $("present").tBodies[0].replaceChildren(...present.map((a) => el("tr", { dataset: { card: a.card_number || "" } },
      el("td", { class: "user-text" }, a.name),
      el("td", {}, CM.formatTime(a.checked_in_at, false)),
      el("td", { class: "since", dataset: { since: a.checked_in_at } }, CM.formatDuration(Date.now() - Date.parse(a.checked_in_at))),
      el("td", {}, a.card_number ? el("button", { type: "button", class: "btn out-btn", disabled: busy,
        onclick: () => record(a.card_number, "out") }, t("earning.attendance.out")) : null))));
    $("present-empty").hidden = present.length > 0;
    $("done").tBodies[0].replaceChildren(...gone.map((a) => el("tr", {},
      el("td", { class: "user-text" }, a.name),
      el("td", {}, CM.formatDuration(a.minutes * 60000)),
      el("td", { class: "num" }, a.points ?? "—"),
      el("td", {}, a.status ? t("earning.status." + a.status) : "—"))));
    const minutes = gone.reduce((sum, a) => sum + a.minutes, 0);
    const points = gone.reduce((sum, a) => sum + (a.points || 0), 0);
    $("summary").textContent = t("tablet.checkin.summary", { people: gone.length, time: CM.formatDuration(minutes * 60000), points });
    $("submit").disabled = busy || present.length === 0;
  }
  // The time on site, ticking.
  setInterval(() => {
    document.querySelectorAll("#present td.since").forEach((cell) => {
      cell.textContent = CM.formatDuration(Date.now() - Date.parse(cell.dataset.since));
    });
  }, 15000);

  /* ---- scanning in and out ------------------------------------------------------------------------------- */
  async function record(card, action) {
    busy = true;
    render();
    const body = { id: CM.newId(), card_number: card, action };
    const answer = await CM.sendOnce("attendance", {
      method: "POST", path: `/activities/${encodeURIComponent(activity.activity_id)}/attendance`, body });
    busy = false;
    if (!answer.ok) { message(refusal(answer), "error"); render(); return false; }
    const a = answer.body;
    if (action === "in") {
      message(a.already_in ? `${a.name} · ${t("earning.attendance.already_in")}`
                           : t("tablet.checkin.in_ok", { name: a.name }), a.already_in ? "warn" : "ok");
    } else {
      message(t("tablet.checkin.out_ok", { name: a.name, time: CM.formatDuration(a.minutes * 60000), points: a.points }), "ok");
    }
    await reload();
    scan.focus();
    return true;
  }

  /* A limit names which one (details.limit): overlapping time, the daily cap, no time at all. */
  function refusal(answer) {
    const error = answer.body && answer.body.error;
    const limit = error && error.details && error.details.limit;
    const specific = limit ? t("earning.limit." + limit) : null;
    return specific && specific !== "earning.limit." + limit ? specific : CM.errorText(answer);
  }

  async function onScan(code) {
    if (!activity) { message(t("tablet.checkin.choose_first"), "warn"); return; }
    if (busy || bulkBusy) { message(t("tablet.counter.wait"), "warn"); return; }
    if (!CMScanner.isCard(code)) { message(t("tablet.checkin.not_card"), "error"); return; }
    if (mode === "bulk") { await addBulk(code); return; }
    const here = activity.attendance.find((a) => a.present && a.card_number === code);
    await record(code, here ? "out" : "in");
  }
  CMScanner.attach(scan, onScan);
  CMCamera.attach($("camera"), $("camera-dialog"), $("camera-video"), $("camera-message"), onScan);
  CMScanner.attachKeypad($("keypad"), scan);

  /* ---- submit: check everyone still here out; their hours go to a manager for approval --------------- */
  $("submit").addEventListener("click", async () => {
    const present = activity.attendance.filter((a) => a.present && a.card_number);
    if (!present.length) return;
    const ok = await CM.ask({ message: t("tablet.checkin.submit_confirm", { count: present.length }),
                              confirm: t("tablet.checkin.submit") });
    if (!ok) { scan.focus(); return; }
    let failed = 0;
    for (const a of present) if (!(await record(a.card_number, "out"))) failed += 1;
    if (!failed) message(t("tablet.checkin.submitted"), "ok");
  });

  /* ---- bulk entry (批量录入): many members, the same hours, one request ------------------------------------ */
  const BULK_SEND = "bulk";            // CM.sendOnce's key for the bulk entry being sent
  const BULK_FIELDS = ["bulk-h", "bulk-m", "bulk-date", "bulk-start", "bulk-note"];
  let mode = "inout";
  let bulk = { cards: [], fields: {} };  // the open activity's list: {card_number, member_id, name, scans, problem}
  let bulkBusy = false;
  const bulkKey = (activityId) => "cm.checkin.bulk." + activityId;
  const saveBulk = () => { if (activity) sessionStorage.setItem(bulkKey(activity.activity_id), JSON.stringify(bulk)); };
  const bulkMessage = (text, tone) => CM.say($("bulk-message"), text, tone);

  /* An ISO time as the day and the HH:MM it shows in Asia/Shanghai (UTC+8 all year). */
  function shanghaiParts(iso) {
    const moment = new Date(iso);
    return { day: moment.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" }),
             time: moment.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" }) };
  }

  function loadBulk() {
    bulk = JSON.parse(sessionStorage.getItem(bulkKey(activity.activity_id)) || "null") || { cards: [], fields: {} };
    for (const id of BULK_FIELDS) $(id).value = bulk.fields[id] ?? "";
    const start = shanghaiParts(activity.starts_at);  // the default start: the activity's
    if (!$("bulk-date").value) $("bulk-date").value = start.day;
    if (!$("bulk-start").value) $("bulk-start").value = start.time;
    $("bulk-result").hidden = true;
    bulkMessage("");
    $("bulk-resend").hidden = !CM.pending(BULK_SEND);
    renderBulk();
  }
  function syncBulk() {
    for (const id of BULK_FIELDS) bulk.fields[id] = $(id).value;
    saveBulk();
    renderBulkPreview();
  }
  for (const id of BULK_FIELDS) {
    $(id).addEventListener("input", syncBulk);
    $(id).addEventListener("change", syncBulk);
  }

  function renderBulk() {
    $("bulk-list").tBodies[0].replaceChildren(...bulk.cards.map((c) => el("tr", {
      class: c.problem ? "refused" : null, dataset: { card: c.card_number } },
      el("td", { class: "user-text" }, c.name),
      el("td", { class: "mono" }, c.card_number),
      el("td", { class: c.problem ? "error bulk-state" : "muted bulk-state" },
         c.problem ? problemText(c.problem) : t("tablet.bulk.ready"),
         c.scans > 1 ? el("span", { class: "muted small bulk-scans" }, " · " + t("tablet.bulk.scanned_n", { n: c.scans }))
                     : null),
      el("td", {}, el("button", { type: "button", class: "btn btn-ghost remove", "aria-label": t("tablet.remove"),
                                  disabled: bulkBusy, onclick: () => removeBulk(c.card_number) }, "✕")))));
    $("bulk-empty").hidden = bulk.cards.length > 0;
    $("bulk-submit").disabled = bulkBusy;
    $("bulk-clear").disabled = bulkBusy || !bulk.cards.length;
    renderBulkPreview();
  }

  async function addBulk(code) {
    const activityId = activity.activity_id;
    let entry = bulk.cards.find((c) => c.card_number === code);
    if (!entry) {
      const answer = await CM.api("GET", "/cards/" + encodeURIComponent(code));
      if (!activity || activity.activity_id !== activityId) return;
      if (!answer.ok) { message(`${code}: ${CM.errorText(answer)}`, "error"); return; }
      const m = answer.body;
      // Listed meanwhile (a second scan while this one was looked up), or the same member by another card.
      entry = bulk.cards.find((c) => c.card_number === code || c.member_id === m.member_id);
      if (!entry) {
        bulk.cards.push({ card_number: code, member_id: m.member_id, name: m.name, scans: 1 });
        saveBulk();
        $("bulk-result").hidden = true;
        renderBulk();
        message(t("tablet.bulk.added", { name: m.name }), "ok");
        return;
      }
    }
    entry.scans = (entry.scans || 1) + 1;
    saveBulk();
    renderBulk();
    message(t("tablet.bulk.already", { name: entry.name }), "warn");
  }

  function removeBulk(card) {
    if (bulkBusy) return;
    bulk.cards = bulk.cards.filter((c) => c.card_number !== card);
    saveBulk();
    renderBulk();
  }

  $("bulk-clear").addEventListener("click", async () => {
    if (bulkBusy || !bulk.cards.length) return;
    const ok = await CM.ask({ message: t("tablet.bulk.clear_confirm") });
    refocusScan();
    if (!ok) return;
    bulk.cards = [];
    saveBulk();
    renderBulk();
    bulkMessage("");
  });

  /* Whole hours and minutes: 1 minute to 24 hours in all. */
  function bulkDuration() {
    const h = $("bulk-h").value.trim(), m = $("bulk-m").value.trim();
    if (!h && !m) return { error: t("tablet.donations.duration_empty") };
    const hours = h ? Number(h) : 0, minutes = m ? Number(m) : 0;
    if (!Number.isInteger(hours) || !Number.isInteger(minutes) || hours < 0 || minutes < 0 || minutes > 59) {
      return { error: t("tablet.donations.duration_bad") };
    }
    const total = hours * 60 + minutes;
    if (total < 1 || total > 24 * 60) return { error: t("earning.limit.minutes_range") };
    return { minutes: total };
  }

  /* The start: the activity's own (not sent: the server takes it to the second) unless changed; never ahead. */
  function bulkStart() {
    const day = $("bulk-date").value, time = $("bulk-start").value;
    if (!day || !time) return { error: t("tablet.donations.start_required") };
    const own = shanghaiParts(activity.starts_at);
    const iso = day === own.day && time === own.time ? null : `${day}T${time}:00+08:00`;
    if (!(Date.parse(iso || activity.starts_at) <= Date.now())) return { error: t("tablet.donations.future") };
    return { iso, text: `${day} ${time}` };
  }

  const pointsEach = (minutes) => Math.floor((activity.category.points_per_hour * minutes) / 60);  // rounded down

  function renderBulkPreview() {
    if (!activity) return;
    const duration = $("bulk-h").value.trim() || $("bulk-m").value.trim() ? bulkDuration() : null;
    if (!duration) CM.say($("bulk-preview"), "");
    else if (duration.error) CM.say($("bulk-preview"), duration.error, "error");
    else {
      CM.say($("bulk-preview"), t("tablet.bulk.preview", { people: bulk.cards.length,
        time: CM.formatDuration(duration.minutes * 60000), points: pointsEach(duration.minutes) }), "ok");
    }
  }

  function buildBulk() {
    if (!bulk.cards.length) return { error: t("tablet.bulk.need_cards") };
    const duration = bulkDuration();
    if (duration.error) return duration;
    const start = bulkStart();
    if (start.error) return start;
    const each = pointsEach(duration.minutes);
    if (each === 0) return { error: t("error.no_points") };
    const note = $("bulk-note").value.trim();
    const people = bulk.cards.length;
    return { body: { card_numbers: bulk.cards.map((c) => c.card_number), minutes: duration.minutes,
                     ...(start.iso ? { started_at: start.iso } : {}), ...(note ? { note } : {}) },
             confirm: t("tablet.bulk.confirm", { people, time: CM.formatDuration(duration.minutes * 60000),
                                                start: start.text, points: each, total: each * people }) };
  }

  /* A request's facts without its id, in one order, to tell a resend of the same entry from a new one. */
  function canonical(body) {
    return JSON.stringify(Object.keys(body).filter((key) => key !== "id").sort().map((key) => [key, body[key]]));
  }

  $("bulk-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (bulkBusy || busy || !activity) return;
    const built = buildBulk();
    if (built.error) { bulkMessage(built.error, "error"); return; }
    bulkMessage("");
    const ok = await CM.ask({ message: built.confirm, confirm: t("tablet.bulk.submit") });
    refocusScan();
    if (!ok) return;
    const path = `/activities/${encodeURIComponent(activity.activity_id)}/bulk`;
    // The same facts as a request still waiting for its answer (a server error): the same id again. After a
    // refusal nothing is kept (nothing was recorded under that id), so the corrected entry gets a new one.
    const left = CM.pending(BULK_SEND);
    const request = left && left.path === path && canonical(left.body) === canonical(built.body) ? left
      : { method: "POST", path, activity_id: activity.activity_id, body: { id: CM.newId(), ...built.body } };
    sendBulk(request);
  });
  $("bulk-resend").addEventListener("click", () => {
    const request = CM.pending(BULK_SEND);
    if (request && !bulkBusy) sendBulk(request);
  });

  function setBulkBusy(on) {
    bulkBusy = on;
    renderBulk();
  }

  async function sendBulk(request) {
    setBulkBusy(true);
    $("bulk-resend").hidden = true;
    $("bulk-result").hidden = true;
    bulkMessage(t("tablet.sending"), "muted");
    const answer = await CM.sendOnce(BULK_SEND, request);
    setBulkBusy(false);
    if (!activity || activity.activity_id !== request.activity_id) {  // another activity was opened meanwhile
      bulkMessage("");
      if (!answer.ok) message(CM.errorText(answer), "error");
      return;
    }
    for (const c of bulk.cards) delete c.problem;
    if (answer.ok) bulkDone(request, answer.body);
    else if (answer.status >= 500) {
      // Kept: "retry" (or submitting the same again) sends the same id, so nobody is recorded twice.
      bulkMessage(CM.errorText(answer), "error");
      $("bulk-resend").hidden = false;
    } else bulkRefused(answer);
    saveBulk();
    renderBulk();
    refocusScan();
  }

  /* Recorded: the contributions (pending) shown, the cards sent taken off the list, the duration and note
     cleared; the start stays for the next sheet of the same activity. */
  function bulkDone(request, answer) {
    const sent = new Set(request.body.card_numbers);
    bulk.cards = bulk.cards.filter((c) => !sent.has(c.card_number));
    for (const id of ["bulk-h", "bulk-m", "bulk-note"]) { $(id).value = ""; delete bulk.fields[id]; }
    saveBulk();
    bulkMessage("");
    $("bulk-result-text").textContent = t("tablet.bulk.recorded", { people: answer.contributions.length,
                                                                   points: answer.points_total });
    $("bulk-made").tBodies[0].replaceChildren(...answer.contributions.map((c) => el("tr", {
      dataset: { id: c.contribution_id } },
      el("td", { class: "user-text" }, c.name),
      el("td", {}, CM.formatDuration(c.minutes * 60000)),
      el("td", { class: "num" }, c.points),
      el("td", {}, t("earning.status." + c.status)))));
    $("bulk-result").hidden = false;
    message(t("tablet.bulk.recorded", { people: answer.contributions.length, points: answer.points_total }), "ok");
  }

  /* Refused as a whole: each refused card is marked in the list with its reason, and named in the message. */
  function bulkRefused(answer) {
    const error = answer.body && answer.body.error;
    const problems = (error && error.code === "bulk_refused" && error.details && error.details.errors) || [];
    if (!problems.length) { bulkMessage(fieldErrors(answer), "error"); return; }
    const named = [];
    for (const p of problems) {
      const problem = { code: p.code, details: p.details || {}, message: p.message };
      const c = bulk.cards.find((x) => x.card_number === p.card_number);
      if (c) c.problem = problem;
      named.push(t("tablet.labelled", { label: c ? `${c.name} ${p.card_number}` : p.card_number,
                                        value: problemText(problem) }));
    }
    bulkMessage(t("tablet.bulk.refused_cards", { message: error.message, cards: named.join(t("tablet.list_sep")) }),
                "error");
  }

  /* One card's reason, in the page's language: which limit (with what was found), else the error's own text. */
  function problemText(p) {
    const d = p.details || {};
    if (p.code === "limit_exceeded") {
      const key = "earning.limit." + d.limit;
      const which = t(key) !== key ? t(key) : p.message || t("error.limit_exceeded");
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
    const key = "error." + p.code;
    return t(key) !== key ? t(key) : p.message || p.code;
  }

  /* Any other refusal (a start in the future by the server's clock, another shop's activity): its message and
     which fields. */
  function fieldErrors(answer) {
    const error = answer.body && answer.body.error;
    if (!error) return CM.errorText(answer);
    const labels = { minutes: t("tablet.donations.duration"), started_at: t("tablet.checkin.starts"),
                     note: t("tablet.note"), card_numbers: t("tablet.card") };
    const fields = error.code === "validation_error"
      ? [...new Set(Object.keys(error.details || {}).map((f) => labels[f.split(".")[0]] || f))] : [];
    return fields.length ? t("tablet.field_errors", { message: error.message, fields: fields.join(t("tablet.list_sep")) })
                         : error.message;
  }

  /* ---- start: a scan or a bulk entry left unanswered (reload, lost network) is sent again with its id -------- */
  CM.tabs((name) => {
    mode = name;
    scan.placeholder = t(mode === "bulk" ? "tablet.bulk.scan_hint" : "tablet.checkin.scan_hint");
    scan.setAttribute("aria-label", scan.placeholder);
    if (activity) focusScan();
  });
  (async () => {
    const left = CM.pending("attendance");
    if (left) await CM.sendOnce("attendance", left);
    const leftBulk = CM.pending(BULK_SEND);
    const current = leftBulk ? leftBulk.activity_id : localStorage.getItem(CURRENT);
    if (current) await open(current); else await showChooser();
    if (leftBulk) {
      if (activity && activity.activity_id === leftBulk.activity_id) {
        if (location.hash !== "#bulk") location.hash = "#bulk";
        message(t("tablet.bulk.resuming"), "warn");
        await sendBulk(leftBulk);
      } else {
        const answer = await CM.sendOnce(BULK_SEND, leftBulk);
        if (!answer.ok) message(CM.errorText(answer), "error");
      }
    }
    document.body.dataset.ready = "true";
  })();
});
