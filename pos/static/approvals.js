/* Approvals (审核) for a manager: the shop's pending contributions, oldest first; approve, or reject with a reason.
   The server refuses a manager approving their own record (four_eyes) and a second decision (already_decided). */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("manager");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);

  function what(c) {
    if (c.kind === "volunteer_hours") {
      const parts = [t("notice.minutes", { hours: Math.floor(c.minutes / 60), minutes: c.minutes % 60 })];
      if (c.activity) parts.push(c.activity.title);
      else if (c.category) parts.push(CM.lang() === "en" ? c.category.name_en : c.category.name_zh);
      return parts.join(" · ");
    }
    if (c.kind === "donation_cash") return t("notice.cash", { yuan: (c.amount_fen / 100).toFixed(2) });
    return t("notice.goods", { items: (c.lines || []).map((l) => `${l.name} × ${l.qty}`).join(t("tablet.list_sep")) });
  }

  function card(c) {
    const own = c.recorded_by === user.username;
    const status = el("p", { class: "message", role: "status", hidden: true });
    const approve = el("button", { type: "button", class: "btn btn-primary approve", disabled: own }, t("tablet.approvals.approve"));
    const reject = el("button", { type: "button", class: "btn reject" }, t("tablet.approvals.reject"));
    const node = el("article", { class: "card stack contribution", dataset: { id: c.contribution_id } },
      el("div", { class: "row spread" },
        el("div", {},
          el("strong", { class: "user-text big" }, c.donor.name),
          el("span", { class: "pill" }, t("earning.kind." + c.kind))),
        el("strong", { class: "big plus" }, t("tablet.points_n", { n: c.points }))),
      el("div", { class: "user-text" }, what(c)),
      el("div", { class: "muted small" }, t("tablet.approvals.recorded", { who: c.recorded_by, at: CM.formatTime(c.recorded_at) }),
        c.started_at && c.ended_at ? ` · ${CM.formatTime(c.started_at)}–${CM.formatTime(c.ended_at, false)}` : ""),
      c.note ? el("div", { class: "user-text muted" }, c.note) : null,
      own ? el("p", { class: "warn small" }, t("error.four_eyes")) : null,
      status,
      el("div", { class: "row end" }, reject, approve));

    const decided = (text, tone) => {
      approve.disabled = reject.disabled = true;
      CM.say(status, text, tone);
      node.classList.add("decided");
    };
    approve.addEventListener("click", async () => {
      approve.disabled = reject.disabled = true;
      const answer = await CM.api("POST", `/contributions/${c.contribution_id}/approve`, {});
      if (answer.ok) { decided(t("tablet.approvals.approved", { n: answer.body.points }), "ok"); summary(); return; }
      // Decided already (a retry whose first answer was lost, or another manager): show it as decided.
      if (answer.body.error && answer.body.error.code === "already_decided") { decided(CM.errorText(answer), "warn"); return; }
      approve.disabled = own; reject.disabled = false;
      CM.say(status, CM.errorText(answer), "error");
    });
    reject.addEventListener("click", async () => {
      const reason = await CM.ask({ message: t("tablet.approvals.reject_confirm", { name: c.donor.name }),
                                    field: { label: t("tablet.reason"), max: 200 }, confirm: t("tablet.approvals.reject"),
                                    danger: true });
      if (!reason) return;
      approve.disabled = reject.disabled = true;
      const answer = await CM.api("POST", `/contributions/${c.contribution_id}/reject`, { reason });
      if (answer.ok) { decided(t("tablet.approvals.rejected", { reason }), "warn"); summary(); return; }
      if (answer.body.error && answer.body.error.code === "already_decided") { decided(CM.errorText(answer), "warn"); return; }
      approve.disabled = own; reject.disabled = false;
      CM.say(status, CM.errorText(answer), "error");
    });
    return node;
  }

  let items = [];
  function summary() {
    const open = [...document.querySelectorAll(".contribution:not(.decided)")].map((n) => n.dataset.id);
    const points = items.filter((c) => open.includes(c.contribution_id)).reduce((s, c) => s + c.points, 0);
    $("summary").textContent = t("tablet.approvals.summary", { count: open.length, points });
  }

  async function load() {
    CM.say($("message"), t("common.loading"), "muted");
    const answer = await CM.api("GET", "/contributions?status=pending&limit=200");
    if (!answer.ok) { CM.say($("message"), CM.errorText(answer), "error"); return; }
    CM.say($("message"), "");
    items = answer.body.contributions;
    $("queue").replaceChildren(...items.map(card));
    $("empty").hidden = items.length > 0;
    summary();
  }
  $("refresh").addEventListener("click", load);
  load();
});
