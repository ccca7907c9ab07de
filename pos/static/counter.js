/* The counter (收银): scan a member card and goods, see the total against the balance, confirm exactly once,
   follow the receipt to the printer, reprint, void (manager), close the shift.

   The cart lives in sessionStorage, so a reload or a new login keeps it. A sale's request (with its client id)
   is kept until the server answers (CM.sendOnce): a lost network, a reload or an expired login sends the very
   same request again, and the server answers a replay with the original sale — never a second one. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("manager", "clerk");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const CART = "cm.counter.cart";
  const LAST = "cm.counter.last";
  const SALE = "sale";
  const scan = $("scan");

  let cart = JSON.parse(sessionStorage.getItem(CART) || "null") || { member: null, lines: [] };
  let last = JSON.parse(sessionStorage.getItem(LAST) || "null");
  let busy = false;
  let quoteGeneration = 0;
  let quote = null;          // the server's quote for the cart as it is now, when it has answered
  let watchGeneration = 0;

  const saveCart = () => sessionStorage.setItem(CART, JSON.stringify(cart));
  const message = (text, tone) => CM.say($("scan-message"), text, tone);
  const points = (n) => t("tablet.points_n", { n });
  const focusScan = () => scan.focus({ preventScroll: true });

  /* ---- scanning ---------------------------------------------------------------------------------------- */
  async function onScan(code) {
    if (busy) { message(t("tablet.counter.wait"), "warn"); return; }
    if (CMScanner.isCard(code)) await scanCard(code);
    else await scanGoods(code);
    focusScan();
  }
  CMScanner.attach(scan, onScan);
  CMCamera.attach($("camera"), $("camera-dialog"), $("camera-video"), $("camera-message"), onScan);
  CMScanner.attachKeypad($("keypad"), scan);

  async function scanCard(code) {
    const answer = await CM.api("GET", "/cards/" + encodeURIComponent(code));
    if (!answer.ok) { message(CM.errorText(answer), "error"); return; }
    const m = answer.body;
    cart.member = { card_number: m.card_number || code, member_id: m.member_id, name: m.name,
                    phone_masked: m.phone_masked, balance: m.balance, pending_points: m.pending_points || 0 };
    message(t("tablet.counter.member_ok", { name: m.name }), "ok");
    hideLastSale();
    changed();
  }

  async function scanGoods(code) {
    const answer = await CM.api("GET", "/products/" + encodeURIComponent(code));
    if (!answer.ok) { message(`${code}: ${CM.errorText(answer)}`, "error"); return; }
    const p = answer.body;
    if (!p.active) { message(t("tablet.counter.inactive", { name: p.name }), "error"); return; }
    const line = cart.lines.find((l) => l.barcode === p.barcode);
    if (line) {
      line.qty += 1;
      line.stock = p.stock ? p.stock.qty : line.stock;
    } else {
      cart.lines.push({ barcode: p.barcode, name: p.name, unit: p.unit, price: p.points_price, qty: 1,
                        stock: p.stock ? p.stock.qty : null });
    }
    message(t("tablet.counter.added", { name: p.name }), "ok");
    hideLastSale();
    changed();
  }

  /* ---- the cart ---------------------------------------------------------------------------------------- */
  function changed() {
    saveCart();
    render();
    requestQuote();
  }

  function step(line, delta) {
    if (busy) return;
    line.qty = Math.max(1, line.qty + delta);
    changed();
  }

  function remove(line) {
    if (busy) return;
    cart.lines = cart.lines.filter((l) => l !== line);
    changed();
  }

  const localTotal = () => cart.lines.reduce((sum, l) => sum + l.price * l.qty, 0);

  function render() {
    $("lines").tBodies[0].replaceChildren(...cart.lines.map((line) => {
      const quoted = quote && quote.lines.find((q) => q.barcode === line.barcode);
      const available = quoted ? quoted.available : line.stock;
      const short = quoted ? quoted.short > 0 : line.stock !== null && line.qty > line.stock;
      return el("tr", { dataset: { barcode: line.barcode } },
        el("td", {}, el("div", { class: "user-text line-name" }, line.name),
           el("div", { class: "muted small mono" }, line.barcode),
           short ? el("div", { class: "error small" }, t("tablet.counter.stock_left", { n: available })) : null),
        el("td", { class: "num" }, line.price),
        el("td", { class: "qty-col" }, el("div", { class: "stepper" },
          el("button", { type: "button", class: "btn step minus-btn", "aria-label": t("tablet.less"), disabled: busy,
                         onclick: () => step(line, -1) }, "−"),
          el("span", { class: "qty" }, line.qty),
          el("button", { type: "button", class: "btn step plus-btn", "aria-label": t("tablet.more_one"), disabled: busy,
                         onclick: () => step(line, 1) }, "+"))),
        el("td", { class: "num" }, line.price * line.qty),
        el("td", {}, el("button", { type: "button", class: "btn btn-ghost remove", "aria-label": t("tablet.remove"),
                                    disabled: busy, onclick: () => remove(line) }, "✕")));
    }));
    $("cart-empty").hidden = cart.lines.length > 0;

    const m = cart.member;
    $("member-none").hidden = !!m;
    $("member-info").hidden = !m;
    if (m) {
      $("member-name").textContent = m.name;
      $("member-phone").textContent = m.phone_masked || "";
      $("member-balance").textContent = points(m.balance);
      $("member-pending").textContent = points(m.pending_points);
    }

    // The server's quote when it has answered for this very cart; until then the prices the scans returned.
    const total = quote ? quote.points_total : localTotal();
    const balance = quote ? quote.balance : m ? m.balance : null;
    if (m && quote) $("member-balance").textContent = points(quote.balance);
    $("total").textContent = points(total);
    const shortfall = quote ? quote.points_shortfall : balance === null ? 0 : Math.max(0, total - balance);
    $("after").textContent = balance === null ? "—" : points(balance - total);
    $("after").className = shortfall ? "error" : "";
    $("shortfall").hidden = !shortfall;
    $("shortfall").textContent = t("tablet.counter.shortfall", { n: shortfall });
    const stockShort = quote ? quote.out_of_stock.length > 0 : false;
    $("confirm").disabled = busy || !m || !cart.lines.length || shortfall > 0 || stockShort;
    $("clear-cart").disabled = busy;
  }

  /* The server's price of the cart (POST /sales/quote): prices can change between the scan and the sale. */
  async function requestQuote() {
    const generation = ++quoteGeneration;
    quote = null;
    $("quote-note").hidden = true;
    if (!cart.member || !cart.lines.length) return;
    let answer;
    try {
      answer = await CM.api("POST", "/sales/quote", saleLines(), { retryNetwork: false });
    } catch (e) { return; }  // offline: the local total stands; the sale itself is checked by the server
    if (generation !== quoteGeneration) return;
    if (answer.ok) {
      quote = answer.body;
    } else {
      CM.say($("quote-note"), refusal(answer), "error");
    }
    render();
  }

  function saleLines() {
    return { card_number: cart.member.card_number,
             lines: cart.lines.map((l) => ({ barcode: l.barcode, qty: l.qty })) };
  }

  $("member-clear").addEventListener("click", () => { if (!busy) { cart.member = null; changed(); } });
  $("clear-cart").addEventListener("click", async () => {
    if (busy || (!cart.lines.length && !cart.member)) return;
    if (cart.lines.length && !(await CM.ask({ message: t("tablet.counter.clear_confirm") }))) { focusScan(); return; }
    cart = { member: null, lines: [] };
    message("");
    changed();
    focusScan();
  });

  /* ---- confirming: exactly once -------------------------------------------------------------------- */
  function setBusy(on) {
    busy = on;
    render();
  }

  $("confirm").addEventListener("click", () => {
    if (busy || $("confirm").disabled) return;
    send({ method: "POST", path: "/sales", body: { id: CM.newId(), ...saleLines() } });
  });

  async function send(request) {
    setBusy(true);
    $("resend").hidden = true;
    CM.say($("confirm-message"), t("tablet.sending"), "muted");
    const answer = await CM.sendOnce(SALE, request);
    setBusy(false);
    if (answer.ok) {
      CM.say($("confirm-message"), "");
      saleDone(answer.body, request.body);
    } else if (answer.status >= 500) {
      // Kept: "retry" sends the same id, so a sale the server did make is answered, not made again.
      CM.say($("confirm-message"), CM.errorText(answer), "error");
      $("resend").hidden = false;
    } else {
      CM.say($("confirm-message"), refusal(answer), "error");
    }
    focusScan();
  }
  $("resend").addEventListener("click", () => {
    const request = CM.pending(SALE);
    if (request) send(request);
  });

  function refusal(answer) {
    const error = answer.body && answer.body.error;
    if (!error) return CM.errorText(answer);
    const d = error.details || {};
    if (error.code === "insufficient_points" && d.shortfall !== undefined) {
      return `${error.message} · ${t("tablet.counter.shortfall", { n: d.shortfall })}`;
    }
    // Refusals that name lines (out of stock, unknown or withdrawn goods): say which, by the names on screen.
    const named = (d.lines || []).map((bad) => {
      const line = cart.lines.find((l) => l.barcode === bad.barcode);
      return line ? line.name : bad.barcode;
    });
    return named.length ? `${error.message} · ${named.join(t("tablet.list_sep"))}` : error.message;
  }

  function saleDone(sale, body) {
    const memberName = sale.member ? sale.member.name : cart.member ? cart.member.name : "";
    last = { sale_id: sale.sale_id, points_total: sale.points_total, balance_after: sale.balance_after,
             job_id: sale.receipt ? sale.receipt.job_id : null, name: memberName, voided: false,
             card_number: body.card_number };
    sessionStorage.setItem(LAST, JSON.stringify(last));
    cart = { member: null, lines: [] };
    saveCart();
    quote = null;
    render();
    showLastSale();
    if (sale.receipt) watchJob(sale.receipt.job_id, sale.receipt);
    message(t("tablet.counter.next"), "muted");
  }

  /* ---- the last sale: receipt status, reprint, void ----------------------------------------------------- */
  function showLastSale() {
    if (!last) return;
    $("last-sale").hidden = false;
    $("sale-done").textContent = last.voided ? t("tablet.counter.voided", { name: last.name })
                                             : t("tablet.counter.done", { name: last.name });
    $("sale-done").className = last.voided ? "warn big" : "ok big";
    $("sale-total").textContent = points(last.points_total);
    $("sale-balance").textContent = points(last.balance_after);
    $("void").hidden = user.role !== "manager" || last.voided;
    $("reprint").hidden = last.voided;
  }
  function hideLastSale() { $("last-sale").hidden = true; }

  function showJob(job) {
    const problem = job.status === "failed" || (job.status === "queued" && job.last_error);
    $("receipt-status").textContent = t("print.status." + job.status);
    $("receipt-status").className = job.status === "printed" ? "ok" : problem ? "error" : "warn";
    $("receipt-status").dataset.status = job.status;
    CM.say($("receipt-problem"), !problem ? "" :
      job.status === "failed" ? t("print.failed_notice", { error: job.last_error || "" })
                              : t("tablet.counter.print_retrying", { error: job.last_error }), "error");
    $("receipt-retry").hidden = job.status !== "failed";
    // A reprint is marked 重印: only for a receipt that did print (a failed one is printed again instead).
    $("reprint").hidden = !last || last.voided || job.status !== "printed";
  }

  async function findJob(jobId) {
    try {
      const answer = await CM.api("GET", "/print-jobs?limit=50", undefined, { retryNetwork: false });
      return answer.ok ? answer.body.jobs.find((j) => j.job_id === jobId) || null : null;
    } catch (e) {
      return null;
    }
  }

  /* Polls the job briefly: long enough for a printer at hand, then a refresh button takes over. */
  async function watchJob(jobId, first) {
    const generation = ++watchGeneration;
    $("receipt-refresh").hidden = true;
    showJob(first || { status: "queued" });
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, i < 6 ? 400 : 1500));
      if (generation !== watchGeneration) return;
      const job = await findJob(jobId);
      if (generation !== watchGeneration) return;
      if (!job) continue;
      showJob(job);
      if (job.status === "printed" || job.status === "failed") { printerState(); return; }
    }
    $("receipt-refresh").hidden = false;
    printerState();
  }

  $("receipt-refresh").addEventListener("click", () => { if (last && last.job_id) watchJob(last.job_id); });
  $("receipt-retry").addEventListener("click", async () => {
    if (!last || !last.job_id) return;
    const answer = await CM.api("POST", `/print-jobs/${last.job_id}/retry`, {});
    if (!answer.ok) { CM.say($("receipt-problem"), CM.errorText(answer), "error"); return; }
    watchJob(last.job_id, answer.body);
  });

  $("reprint").addEventListener("click", async () => {
    if (!last) return;
    const answer = await CM.api("POST", `/sales/${last.sale_id}/reprint`, {});
    if (!answer.ok) { CM.say($("receipt-problem"), CM.errorText(answer), "error"); return; }
    last.job_id = answer.body.job_id;
    sessionStorage.setItem(LAST, JSON.stringify(last));
    watchJob(last.job_id, answer.body.status ? answer.body : null);
  });

  $("void").addEventListener("click", async () => {
    if (!last || last.voided) return;
    const reason = await CM.ask({ message: t("tablet.counter.void_confirm", { name: last.name, n: last.points_total }),
                                  field: { label: t("tablet.reason"), max: 200 }, confirm: t("tablet.counter.void"),
                                  danger: true });
    focusScan();
    if (!reason) return;
    await voidSale(last.sale_id, reason);
  });

  /* ---- recent sales of this shop: reprint any, void any (manager) ---------------------------------------- */
  $("recent").addEventListener("click", async () => {
    const answer = await CM.api("GET", "/sales?limit=20");
    if (!answer.ok) { message(CM.errorText(answer), "error"); return; }
    CM.say($("recent-message"), "");
    $("recent-sales").tBodies[0].replaceChildren(...answer.body.sales.map(saleRow));
    $("recent-dialog").showModal();
  });
  $("recent-close").addEventListener("click", () => { $("recent-dialog").close(); focusScan(); });

  function saleRow(sale) {
    const status = el("td", { class: "sale-status" }, t("tablet.sale_status." + sale.status));
    const actions = el("td", { class: "row" });
    const row = el("tr", { dataset: { sale: sale.sale_id } },
      el("td", {}, CM.formatTime(sale.created_at)), el("td", { class: "user-text" }, sale.member_name),
      el("td", { class: "num" }, sale.points_total), status, actions);
    if (sale.status !== "completed") return row;
    actions.append(el("button", { type: "button", class: "btn recent-reprint", onclick: async () => {
      const answer = await CM.api("POST", `/sales/${sale.sale_id}/reprint`, {});
      CM.say($("recent-message"), answer.ok ? t("print.queued_notice") : CM.errorText(answer), answer.ok ? "ok" : "error");
    } }, t("tablet.counter.reprint")));
    if (user.role === "manager") {
      actions.append(el("button", { type: "button", class: "btn btn-danger recent-void", onclick: async () => {
        const reason = await CM.ask({ message: t("tablet.counter.void_confirm", { name: sale.member_name, n: sale.points_total }),
                                      field: { label: t("tablet.reason"), max: 200 }, confirm: t("tablet.counter.void"),
                                      danger: true });
        if (!reason) return;
        const after = await voidSale(sale.sale_id, reason);
        if (after === undefined) return;
        status.textContent = t("tablet.sale_status.voided");
        actions.replaceChildren();
        CM.say($("recent-message"), t("tablet.counter.voided", { name: sale.member_name }), "ok");
      } }, t("tablet.counter.void")));
    }
    return row;
  }

  /* Voids a sale; answers the member's balance after it (null when unknown), or undefined when refused. A sale
     voided already (a retry whose first answer was lost, or another tablet) is the same outcome. */
  async function voidSale(saleId, reason) {
    const answer = await CM.api("POST", `/sales/${saleId}/void`, { reason });
    const error = answer.body && answer.body.error;
    const already = error && error.code === "already_voided";
    if (!answer.ok && !already) { CM.say($("recent-dialog").open ? $("recent-message") : $("confirm-message"),
                                          CM.errorText(answer), "error"); return undefined; }
    const after = already ? error.details.balance_after : answer.body.balance_after;
    if (last && last.sale_id === saleId) {
      last.voided = true;
      if (after !== undefined && after !== null) last.balance_after = after;
      sessionStorage.setItem(LAST, JSON.stringify(last));
      showLastSale();
    }
    return after ?? null;
  }

  /* ---- the printer ------------------------------------------------------------------------------------- */
  async function printerState() {
    let answer;
    try {
      answer = await CM.api("GET", "/printer/status", undefined, { retryNetwork: false });
    } catch (e) { return; }
    if (!answer.ok) return;
    const p = answer.body.printer;
    const node = $("printer-state");
    node.dataset.state = p.state;
    if (!p.local) { node.textContent = t("printer.agent_hint"); node.className = "printer-state muted"; return; }
    node.textContent = t("tablet.labelled", { label: t("printer.status"), value: t("printer.state." + p.state) });
    node.className = "printer-state " + (["ok", "online"].includes(p.state) ? "ok"
                                         : p.state === "unknown" || p.state === "paper_low" ? "warn" : "error");
  }

  /* ---- shift close (交班): the Z report, previewed from the open shift's figures, then closed ------------ */
  let shiftWatch = 0;
  /* A manager may also close a clerk's shift (the clerk went home without closing): the dialog then offers the
     shop's open shifts. "" stands for the user's own. */
  async function shiftChoices() {
    if (user.role !== "manager") return [];
    const answer = await CM.api("GET", "/shifts?status=open&store=" + encodeURIComponent(user.store));
    if (!answer.ok) return [];
    return answer.body.shifts.filter((s) => s.clerk !== user.username);
  }

  async function previewShift(clerk, shiftId) {
    const answer = await CM.api("GET", clerk ? "/shifts/" + encodeURIComponent(shiftId) : "/shifts/current");
    if (!answer.ok) { CM.say($("shift-print"), CM.errorText(answer), "error"); return null; }
    return clerk ? answer.body : answer.body.shift;
  }

  $("shift-close").addEventListener("click", async () => {
    if (busy) return;
    const left = CM.pending("shift");
    const others = await shiftChoices();
    const own = await previewShift("", null);
    if (!own && !left && !others.length) { message(t("error.no_open_shift"), "warn"); return; }
    const select = $("shift-clerk");
    select.replaceChildren(el("option", { value: "" }, t("tablet.counter.shift_mine", { name: user.username })),
      ...others.map((s) => el("option", { value: s.clerk, "data-shift": s.shift_id },
                             t("tablet.counter.shift_of", { name: s.clerk, since: CM.formatTime(s.opened_at) }))));
    // A close whose answer was lost is sent again first, for the same clerk.
    select.value = left ? (left.body.clerk || "") : (own || !others.length ? "" : others[0].clerk);
    select.disabled = Boolean(left);
    $("shift-whose").hidden = !others.length && !(left && left.body.clerk);
    $("shift-title").textContent = t("tablet.counter.shift_preview");
    $("shift-print").textContent = "";
    $("shift-report").replaceChildren();
    $("shift-confirm").hidden = false;
    $("shift-dialog").showModal();
    await showChosenShift(own);
  });

  async function showChosenShift(ownReport) {
    const select = $("shift-clerk");
    const clerk = select.value;
    const option = select.selectedOptions[0];
    const report = clerk ? await previewShift(clerk, option && option.dataset.shift)
                         : ownReport === undefined ? await previewShift("", null) : ownReport;
    $("shift-report").replaceChildren(report ? zReport(report) : "");
    $("shift-confirm").disabled = !report && !CM.pending("shift");
  }
  $("shift-clerk").addEventListener("change", () => showChosenShift(undefined));

  $("shift-confirm").addEventListener("click", async () => {
    $("shift-confirm").hidden = true;
    const clerk = $("shift-clerk").value;
    // Kept until answered: a retry after a lost answer gets the same report, and closes nothing twice.
    const request = CM.pending("shift") || { method: "POST", path: "/shifts/close",
                                              body: clerk ? { id: CM.newId(), clerk } : { id: CM.newId() } };
    const answer = await CM.sendOnce("shift", request);
    if (!answer.ok) { CM.say($("shift-print"), CM.errorText(answer), "error"); return; }
    $("shift-title").textContent = t("tablet.counter.shift_closed");
    $("shift-report").replaceChildren(zReport(answer.body));
    const job = answer.body.print_job;
    if (job) watchShiftJob(job);
  });
  $("shift-done").addEventListener("click", () => { shiftWatch++; $("shift-dialog").close(); focusScan(); });

  async function watchShiftJob(job) {
    const generation = ++shiftWatch;
    const show = (j) => CM.say($("shift-print"),
      t("tablet.labelled", { label: t("print.kind.z_report"), value: t("print.status." + j.status) }) +
      (j.last_error ? ` (${j.last_error})` : ""), j.status === "printed" ? "ok" : j.last_error ? "error" : "muted");
    show(job);
    for (let i = 0; i < 15 && generation === shiftWatch; i++) {
      await new Promise((r) => setTimeout(r, 500 + i * 200));
      const found = await findJob(job.job_id);
      if (generation !== shiftWatch) return;
      if (found) show(found);
      if (found && (found.status === "printed" || found.status === "failed")) return;
    }
  }

  /* The Z report's figures as the printer would put them, rendered here as text (the answer has no preview). */
  function zReport(r) {
    const rows = [
      [t("tablet.z.clerk"), r.clerk],
      [t("tablet.z.from"), CM.formatTime(r.opened_at)],
      [t("tablet.z.to"), r.closed_at ? CM.formatTime(r.closed_at) : t("tablet.z.open")],
      // A shift opened by a late void alone has no sale of its own: "none", as the printed report says 无.
      [t("tablet.z.first_sale"), r.first_sale_at ? CM.formatTime(r.first_sale_at) : t("tablet.z.no_sale")],
      [t("tablet.z.last_sale"), r.last_sale_at ? CM.formatTime(r.last_sale_at) : t("tablet.z.no_sale")],
      [t("tablet.z.sales"), r.sales_count],
      [t("tablet.z.points"), points(r.points_redeemed)],
      [t("tablet.z.voids"), r.voids_count],
      [t("tablet.z.returned"), points(r.points_returned)],
      [t("tablet.z.net"), points(r.net_points)],
    ];
    const figures = el("table", { class: "z-report" }, el("tbody", {}, ...rows.map(([label, value]) =>
      el("tr", {}, el("th", {}, label), el("td", { class: "num" }, value)))));
    const items = (r.items || []).length ? el("table", { class: "z-items" },
      el("thead", {}, el("tr", {}, el("th", {}, t("tablet.product")), el("th", { class: "num" }, t("tablet.qty")),
                          el("th", { class: "num" }, t("tablet.amount")))),
      el("tbody", {}, ...r.items.map((item) => el("tr", {}, el("td", { class: "user-text" }, item.name),
        el("td", { class: "num" }, item.qty), el("td", { class: "num" }, item.points))))) : null;
    const ledger = r.ledger ? el("p", { class: r.ledger.ok ? "ok small" : "error" },
      t(r.ledger.ok ? "checkout.z.ledger_ok" : "checkout.z.ledger_mismatch", {
        from_seq: r.ledger.from_seq, to_seq: r.ledger.to_seq, redeemed: r.ledger.redeemed,
        reversed: r.ledger.reversed, sales: r.points_redeemed, voids: r.points_returned })) : null;
    const late = r.late_voids_count ? el("p", { class: "muted small" },
      t("checkout.z.late_voids", { count: r.late_voids_count, points: r.late_points_returned })) : null;
    return el("div", { class: "stack" }, figures, items, late, ledger);
  }

  /* ---- start ------------------------------------------------------------------------------------------- */
  render();
  if (last) {
    showLastSale();
    if (last.job_id && !last.voided) watchJob(last.job_id);
  }
  printerState();
  requestQuote();
  const left = CM.pending(SALE);
  if (left) {
    // The page was reloaded (or the tablet restarted) before the server answered: ask again, same id.
    message(t("tablet.counter.resuming"), "warn");
    send(left);
  }
  focusScan();
});
