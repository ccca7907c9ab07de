/* Volunteer check-in (签到): choose or open an activity, scan members' cards in and out, see who is present and
   for how long, and submit: everyone still present is checked out, and each stay becomes hours waiting for a
   manager's approval. The server decides minutes and points; this page only shows them. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("coordinator", "manager");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const CURRENT = "cm.checkin.activity." + user.store;
  const CARD = /^[1-9]\d{15}$/;
  const scan = $("scan");
  let activity = null;       // GET /activities/{id}, with its attendance
  let busy = false;
  const message = (text, tone) => CM.say($("scan-message"), text, tone);
  const categoryName = (c) => (CM.lang() === "en" ? c.name_en : c.name_zh);

  /* ---- choosing or opening an activity ---------------------------------------------------------------- */
  async function showChooser() {
    activity = null;
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
    $("choose").hidden = true;
    $("running").hidden = false;
    $("act-title").textContent = activity.title;
    $("act-meta").textContent = t("tablet.checkin.meta", {
      category: categoryName(activity.category), rate: activity.category.points_per_hour,
      starts: CM.formatTime(activity.starts_at), organiser: activity.organiser });
    render();
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
    if (busy) { message(t("tablet.counter.wait"), "warn"); return; }
    if (!CARD.test(code)) { message(t("tablet.checkin.not_card"), "error"); return; }
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

  /* ---- start: a scan left unanswered (reload, lost network) is sent again with its id ------------------ */
  (async () => {
    const left = CM.pending("attendance");
    if (left) await CM.sendOnce("attendance", left);
    const current = localStorage.getItem(CURRENT);
    if (current) open(current); else showChooser();
  })();
});
