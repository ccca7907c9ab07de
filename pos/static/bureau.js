/* The bureau's pages: reconciliation, verification and checkpoints, dashboard, anomalies, the transfers behind
   them. Each page is a shell; this script asks the reports API with the user's token and builds the DOM with
   CM.el (text nodes only: shop names, categories and refs are typed by people). Downloads and charts are
   fetched with the token and handed to the browser as blob URLs. */
"use strict";
(function () {
  const { t, el } = CM;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => (typeof n === "number" ? n.toLocaleString(CM.lang()) : n == null ? "—" : String(n));

  /* ---------------------------------------------------------------- filters: from, to, shops (kept in the URL) */

  async function setupFilters(onApply) {
    const params = new URLSearchParams(location.search);
    const form = $("filters");
    if (!form) return params;
    $("filter-from").value = params.get("from") || "";
    $("filter-to").value = params.get("to") || "";
    if ($("filter-hours")) $("filter-hours").value = params.get("hours") || "";
    const chosen = new Set(params.getAll("store").flatMap((s) => s.split(",")).filter(Boolean));
    const answer = await CM.api("GET", "/stores");
    const select = $("filter-store");
    const user = CM.currentUser ? CM.currentUser() : null;
    for (const store of answer.ok ? answer.body.stores : []) {
      if (user && user.store && store.code !== user.store) continue; // a manager sees their own shop only
      select.append(el("option", { value: store.code, selected: chosen.has(store.code) }, `${store.code} ${store.name}`));
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      if ($("filter-from").value) next.set("from", $("filter-from").value);
      if ($("filter-to").value) next.set("to", $("filter-to").value);
      for (const option of select.selectedOptions) next.append("store", option.value);
      if ($("filter-hours") && $("filter-hours").value.trim()) next.set("hours", $("filter-hours").value.trim());
      history.replaceState(null, "", location.pathname + (next.toString() ? "?" + next : ""));
      onApply(next);
    });
    return params;
  }

  function status(text, isError) {
    const node = $("status");
    if (!node) return;
    node.textContent = text || "";
    node.classList.toggle("error", Boolean(isError));
  }

  async function download(path, fallbackName) {
    const response = await CM.api("GET", path, undefined, { raw: true });
    if (!response.ok) { status(t("common.error"), true); return; }
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename\*=UTF-8''([^;]+)/.exec(disposition) || /filename="([^"]+)"/.exec(disposition);
    const name = match ? decodeURIComponent(match[1]) : fallbackName;
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function saveText(text, name, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function wireDownloads(base, params) {
    const query = () => { const q = new URLSearchParams(location.search); return q.toString() ? "?" + q : ""; };
    if ($("download-xlsx")) $("download-xlsx").onclick = () => download(`${base}.xlsx${query()}`, "report.xlsx");
    if ($("download-csv")) $("download-csv").onclick = () => download(`${base}.csv${query()}`, "report.csv");
    return params;
  }

  function transfersLink(seqs, label) {
    if (!seqs || !seqs.length) return el("span", { class: "muted" }, "—");
    return el("a", { href: "/bureau-transfers?seq=" + seqs.join(","), class: "transfers-link" },
              label || t("bureau.tx.link", { count: seqs.length }));
  }

  function table(node, head, rows) {
    node.replaceChildren(
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { class: h.num ? "num" : null }, h.label || h)))),
      el("tbody", {}, rows));
  }

  function td(value, cls) { return el("td", { class: cls || (typeof value === "number" ? "num" : null) }, value); }

  function periodLine(period) {
    return t("bureau.period_line", { from: period.from ? period.from.slice(0, 10) : t("bureau.open_start"),
                                     to: period.to ? period.to.slice(0, 10) : t("bureau.open_end"),
                                     lo: period.from_seq, hi: period.to_seq });
  }

  function verdict(node, ok, okKey, badKey) {
    node.hidden = false;
    node.textContent = t(ok ? okKey : badKey);
    node.className = "verdict " + (ok ? "verdict-ok" : "verdict-bad");
  }

  /* ---------------------------------------------------------------- reconciliation */

  const FIGURES = [
    ["issued_volunteer_hours", (d) => d.issued.volunteer_hours], ["issued_donation", (d) => d.issued.donation],
    ["issued_total", (d) => d.issued.total], ["redeemed", (d) => d.redeemed], ["reversed", (d) => d.reversed],
    ["reversals_net", (d) => d.reversals.net], ["adjusted_net", (d) => d.adjusted.net],
    ["cross_shop_net", (d) => d.cross_shop_net], ["outstanding_start", (d) => d.outstanding_start],
    ["outstanding", (d) => d.outstanding], ["members_balance_total", (d) => d.members_balance_total],
    ["journal_outstanding_now", (d) => d.journal_outstanding_now], ["transfers", (d) => d.transfers],
  ];

  function identityRows(identities, shop) {
    return identities.map((i) => el("tr", { class: i.ok ? "ok-row" : "bad-row", dataset: { identity: i.name, shop: shop || "" } },
      td(t("bureau.identity." + i.name)),
      td(el("span", { class: "badge " + (i.ok ? "badge-ok" : "badge-bad") }, t(i.ok ? "bureau.holds" : "bureau.fails"))),
      td(i.left), td(i.right), td(i.difference),
      td(i.ok ? "" : [i.detail ? el("div", { class: "muted" }, t("bureau.detail." + i.detail, i.detail_params)) : null,
                      transfersLink(i.transfers)])));
  }

  function quarters(period) {
    const end = period.to ? new Date(period.to) : new Date();
    const start = period.from ? new Date(period.from) : new Date(end.getFullYear(), end.getMonth() - 11, 1);
    const out = [];
    let year = start.getFullYear(), q = Math.floor(start.getMonth() / 3);
    while (year < end.getFullYear() || (year === end.getFullYear() && q <= Math.floor((end.getMonth()) / 3))) {
      const first = `${year}-${String(q * 3 + 1).padStart(2, "0")}-01`;
      const lastDay = new Date(year, q * 3 + 3, 0).getDate();
      const last = `${year}-${String(q * 3 + 3).padStart(2, "0")}-${String(lastDay).padStart(2, "0")}`;
      out.push({ label: `${year} Q${q + 1}`, first, last });
      if (++q === 4) { q = 0; year++; }
      if (out.length >= 12) break;
    }
    return out;
  }

  async function reconciliationPage() {
    if (!CM.requireRole("admin", "auditor", "manager")) return;
    const load = async (params) => {
      status(t("common.loading"));
      const answer = await CM.api("GET", "/reports/reconciliation" + (params.toString() ? "?" + params : ""));
      if (!answer.ok) { status(CM.errorText(answer), true); return; }
      status("");
      const r = answer.body;
      $("result").hidden = false;
      $("period-line").textContent = periodLine(r.period);
      verdict($("verdict"), r.ok, "bureau.recon.all_hold", "bureau.recon.some_fail");
      table($("figures"), [t("bureau.export.item"), { label: t("bureau.export.points"), num: true }],
            FIGURES.map(([key, read]) => el("tr", {}, td(t("bureau.figure." + key)), td(read(r)))));
      table($("identities"), [t("bureau.export.identity"), t("bureau.export.holds"), { label: t("bureau.export.left"), num: true },
                              { label: t("bureau.export.right"), num: true }, { label: t("bureau.export.difference"), num: true },
                              t("bureau.export.transfers")], identityRows(r.identities));
      const shopHead = [t("bureau.export.shop")].concat(FIGURES.map(([key]) => ({ label: t("bureau.figure." + key), num: true })),
                                                      [t("bureau.recon.identities")]);
      table($("shops"), shopHead, r.stores.map((s) => {
        const failing = s.identities.filter((i) => !i.ok);
        return el("tr", { dataset: { shop: s.store || "" }, class: failing.length ? "bad-row" : null },
          td(s.store ? `${s.store} ${s.name}` : t("bureau.export.no_shop")),
          FIGURES.map(([, read]) => td(read(s))),
          td(failing.length
            ? failing.map((i) => el("div", {}, t("bureau.identity." + i.name) + " ", transfersLink(i.transfers)))
            : el("span", { class: "badge badge-ok" }, t("bureau.holds"))));
      }));
      table($("categories"), [t("bureau.export.category"), { label: t("bureau.export.count"), num: true },
                              { label: t("bureau.export.points"), num: true }],
            r.issued_by_category.map((c) => el("tr", {},
              td(c.category_id != null ? (CM.lang() === "en" && c.name_en ? c.name_en : c.name_zh) : t("bureau.kind." + c.kind)),
              td(c.count), td(c.points))));
      const shops = r.stores.filter((s) => s.store);
      $("notices").replaceChildren(...shops.flatMap((s) => quarters(r.period).map((q) =>
        el("li", {}, el("a", { href: `/notice/${encodeURIComponent(s.store)}?from=${q.first}&to=${q.last}`, target: "_blank",
                               rel: "noopener" }, `${s.store} ${s.name} · ${q.label}`)))));
    };
    const params = await setupFilters(load);
    wireDownloads("/reports/reconciliation", params);
    load(params);
  }

  /* ---------------------------------------------------------------- verification and checkpoints */

  function problemRows(problems) {
    return problems.map((p) => el("tr", {},
      td(p.seq == null ? "—" : transfersLink([p.seq], String(p.seq))),
      td(t("ledger.problem." + p.what)), td(p.detail || "")));
  }

  function showRun(run) {
    const progress = $("verify-progress");
    progress.hidden = run.status !== "running";
    progress.value = run.progress || 0;
    $("verify-progress-text").textContent = run.status === "running"
      ? t("bureau.verify.progress", { done: fmt(run.done), total: fmt(run.total) })
      : t("bureau.verify.status." + run.status);
    if (run.status === "running") return;
    $("verify-start").disabled = false;
    if (run.status === "error") {
      verdict($("verify-verdict"), false, "bureau.verify.ok", "bureau.verify.error");
      return;
    }
    const report = run.report || {};
    verdict($("verify-verdict"), run.status === "ok", "bureau.verify.ok", "bureau.verify.failed");
    if (run.status !== "ok") $("verify-verdict").textContent = t("bureau.verify.failed_count", { count: run.problem_count });
    $("verify-head").hidden = false;
    $("head-seq").textContent = fmt(run.head ? run.head.seq : null);
    $("head-hash").textContent = run.head ? run.head.hash : "—";
    $("head-transfers").textContent = fmt(report.transfers);
    $("head-anchor").textContent = report.anchor ? `seq ${report.anchor.seq} · ${report.anchor.hash}` : t("bureau.verify.no_anchor");
    const problems = report.problems || [];
    $("verify-problems").hidden = !problems.length;
    table($("verify-problems"), [t("bureau.verify.seq"), t("bureau.verify.what"), t("bureau.verify.detail")], problemRows(problems));
  }

  async function pollRun(id) {
    for (;;) {
      const answer = await CM.api("GET", `/reports/verify-runs/${id}`);
      if (!answer.ok) { $("verify-progress-text").textContent = CM.errorText(answer); $("verify-start").disabled = false; return; }
      showRun(answer.body);
      if (answer.body.status !== "running") { loadRuns(); return; }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async function loadRuns() {
    const answer = await CM.api("GET", "/reports/verify-runs");
    if (!answer.ok) return;
    table($("runs"), [t("bureau.verify.started"), t("bureau.verify.by"), t("bureau.verify.result"), t("bureau.verify.head_seq")],
          answer.body.runs.map((r) => el("tr", {}, td(CM.formatTime ? CM.formatTime(r.started_at) : r.started_at), td(r.started_by),
            td(el("span", { class: "badge " + (r.status === "ok" ? "badge-ok" : r.status === "running" ? "" : "badge-bad") },
                  t("bureau.verify.status." + r.status))), td(r.head ? r.head.seq : "—"))));
  }

  async function loadCheckpoints() {
    const answer = await CM.api("GET", "/checkpoints");
    if (!answer.ok) { $("cp-status").textContent = CM.errorText(answer); return; }
    table($("checkpoints"), [t("bureau.cp.signed_at"), t("bureau.cp.by"), { label: "seq", num: true }, t("bureau.verify.head_hash"),
                             t("bureau.cp.key"), ""],
          answer.body.checkpoints.map((c) => el("tr", { dataset: { checkpoint: c.id } },
            td(CM.formatTime ? CM.formatTime(c.signed_at) : c.signed_at), td(c.signed_by), td(c.seq), td(c.hash, "hash"), td(c.key_id, "hash"),
            td(el("button", { class: "btn", type: "button", onclick: () => download(`/checkpoints/${c.id}`, `checkpoint-${c.seq}.json`) },
                  t("bureau.cp.download"))))));
  }

  async function verifyPage() {
    if (!CM.requireRole("admin", "auditor")) return;
    $("verify-start").addEventListener("click", async () => {
      $("verify-start").disabled = true;
      $("verify-verdict").hidden = true;
      $("verify-problems").hidden = true;
      const answer = await CM.api("POST", "/reports/verify-runs", { id: CM.newId() });
      if (!answer.ok) { $("verify-progress-text").textContent = CM.errorText(answer); $("verify-start").disabled = false; return; }
      showRun(answer.body);
      pollRun(answer.body.id);
    });
    $("cp-sign").addEventListener("click", async () => {
      $("cp-sign").disabled = true;
      $("cp-status").textContent = t("common.loading");
      const answer = await CM.api("POST", "/checkpoints", { id: CM.newId() });
      $("cp-sign").disabled = false;
      $("cp-status").textContent = answer.ok ? t("bureau.cp.signed", { seq: answer.body.seq }) : CM.errorText(answer);
      $("cp-status").classList.toggle("error", !answer.ok);
      loadCheckpoints();
    });
    $("cp-key").addEventListener("click", async () => {
      const answer = await CM.api("GET", "/checkpoints/public-key");
      if (answer.ok) saveText(answer.body.public_key, `creditmart-bureau-${answer.body.key_id}.pem`, "application/x-pem-file");
    });
    $("export-ndjson").addEventListener("click", () => download("/ledger/export", "creditmart-ledger.ndjson"));
    $("export-journal").addEventListener("click", () => download("/reports/journal.txt", "creditmart.journal"));
    loadCheckpoints();
    loadRuns();
  }

  /* ---------------------------------------------------------------- dashboard */

  async function chartInto(img, path) {
    const response = await CM.api("GET", path, undefined, { raw: true });
    if (!response.ok) return;
    if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
    img.dataset.url = URL.createObjectURL(await response.blob());
    img.src = img.dataset.url;
  }

  async function dashboardPage() {
    if (!CM.requireRole("admin", "auditor", "manager")) return;
    const load = async (params) => {
      status(t("common.loading"));
      const query = params.toString() ? "?" + params : "";
      const answer = await CM.api("GET", "/reports/dashboard" + query);
      if (!answer.ok) { status(CM.errorText(answer), true); return; }
      status("");
      const d = answer.body;
      $("result").hidden = false;
      for (const name of ["monthly", "categories", "stock"]) chartInto($("chart-" + name), `/reports/charts/${name}.svg${query}`);
      const perShop = $("shop-charts");
      perShop.replaceChildren();
      if (d.stores.length > 1 && d.stores.length <= 12) {
        for (const s of d.stores) {
          const img = el("img", { alt: `${t("bureau.chart.monthly")} ${s.store}`, dataset: { shop: s.store } });
          perShop.append(el("div", { class: "card chart" }, img));
          const q = new URLSearchParams(params);
          q.set("shop", s.store);
          chartInto(img, `/reports/charts/monthly.svg?${q}`);
        }
      }
      table($("monthly"), [t("bureau.export.shop"), t("bureau.export.month"), { label: t("bureau.chart.issued"), num: true },
                           { label: t("bureau.chart.redeemed"), num: true }],
            d.stores.flatMap((s) => s.monthly.filter((m) => m.issued || m.redeemed).map((m) => el("tr", {},
              td(`${s.store} ${s.name}`), td(m.month, "num"), td(m.issued), td(m.redeemed)))));
      table($("stock"), [t("bureau.export.shop"), { label: t("bureau.export.points"), num: true },
                         { label: t("bureau.export.units"), num: true }, { label: t("bureau.export.products"), num: true }],
            d.stock_value.map((s) => el("tr", {}, td(`${s.store} ${s.name}`), td(s.points), td(s.units), td(s.products))));
    };
    const params = await setupFilters(load);
    wireDownloads("/reports/dashboard", params);
    load(params);
  }

  /* ---------------------------------------------------------------- anomalies */

  function figuresText(kind, f) {
    return t("bureau.flag_text." + kind, f);
  }

  async function anomaliesPage() {
    if (!CM.requireRole("admin", "auditor", "manager")) return;
    const load = async (params) => {
      status(t("common.loading"));
      const answer = await CM.api("GET", "/reports/anomalies" + (params.toString() ? "?" + params : ""));
      if (!answer.ok) { status(CM.errorText(answer), true); return; }
      status("");
      const a = answer.body;
      $("result").hidden = false;
      $("period-line").textContent = periodLine(a.period);
      $("summary").textContent = t("bureau.anom.summary", { count: a.flags.length });
      $("settings-line").textContent = t("bureau.anom.settings", a.settings);
      table($("flags"), [t("bureau.export.flag"), t("bureau.export.shop"), t("bureau.export.subject"), t("bureau.export.figures"),
                         t("bureau.export.transfers")],
            a.flags.map((f) => el("tr", { dataset: { kind: f.kind } }, td(t("bureau.flag." + f.kind)), td(f.store || "—"),
              td(f.subject || "—"), td(figuresText(f.kind, f.figures)), td(transfersLink(f.transfers)))));
    };
    const params = await setupFilters(load);
    wireDownloads("/reports/anomalies", params);
    load(params);
  }

  /* ---------------------------------------------------------------- the transfers behind */

  function side(s) {
    if (!s || !s.kind) return "—";
    const who = s.holder ? `${s.holder} ` : "";
    return `${who}${t("bureau.account." + s.kind)}${s.store ? " · " + s.store : ""} #${s.account_id}`;
  }

  async function transfersPage() {
    if (!CM.requireRole("admin", "auditor", "manager")) return;
    const seqs = (new URLSearchParams(location.search).get("seq") || "").split(",").filter((s) => /^\d+$/.test(s));
    if (!seqs.length) { status(t("bureau.tx.none")); return; }
    status(t("common.loading"));
    const answer = await CM.api("GET", "/reports/transfers?seq=" + seqs.slice(0, 200).join(","));
    if (!answer.ok) { status(CM.errorText(answer), true); return; }
    status("");
    const body = answer.body;
    table($("transfers"), ["seq", t("bureau.tx.at"), t("bureau.tx.code"), { label: t("bureau.export.points"), num: true },
                           t("bureau.tx.debit"), t("bureau.tx.credit"), t("bureau.tx.ref"), t("bureau.tx.actor"),
                           t("bureau.export.shop"), t("bureau.tx.reversal"), t("bureau.verify.head_hash")],
          body.transfers.map((x) => el("tr", { dataset: { seq: x.seq } }, td(x.seq), td(CM.formatTime ? CM.formatTime(x.at) : x.at),
            td(t("bureau.code." + x.code)), td(x.amount),
            td(`${side(x.debit)} → ${fmt(x.debit.balance_after)}`), td(`${side(x.credit)} → ${fmt(x.credit.balance_after)}`),
            td(x.ref), td(x.actor), td(x.store || "—"),
            td(x.reverses ? t("bureau.tx.reverses", { seq: x.reverses }) : x.reversed_by ? t("bureau.tx.reversed_by", { seq: x.reversed_by }) : ""),
            td(x.hash.slice(0, 16) + "…", "hash"))));
    const note = $("hidden-note");
    note.hidden = !(body.hidden || body.missing.length);
    note.textContent = t("bureau.tx.hidden", { hidden: body.hidden, missing: body.missing.length });
  }

  const PAGES = {
    "pages.bureau": reconciliationPage, "pages.bureau-verify": verifyPage, "pages.bureau-dashboard": dashboardPage,
    "pages.bureau-anomalies": anomaliesPage, "pages.bureau-transfers": transfersPage,
  };
  document.addEventListener("DOMContentLoaded", () => {
    const page = PAGES[document.body.dataset.page];
    if (page) page();
  });
})();
