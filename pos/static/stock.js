/* Stock for the manager: receive goods by scanning (入库), stocktake (盘点), the low-stock list. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("manager");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const SAVED = "cm.stock.lists";
  const saved = JSON.parse(sessionStorage.getItem(SAVED) || "null") || { receive: [], count: [] };
  const receive = new Map(saved.receive.map((line) => [line.barcode, line]));
  const count = new Map(saved.count.map((line) => [line.barcode, line]));
  let tab = "receive";
  const scan = $("scan");

  function save() {
    sessionStorage.setItem(SAVED, JSON.stringify({ receive: [...receive.values()], count: [...count.values()] }));
  }
  const message = (text, tone) => CM.say($("scan-message"), text, tone);

  CM.tabs((name) => {
    tab = name;
    $("scanbar").hidden = name === "low";
    if (name === "low") loadLow();
    else scan.focus();
  });
  CMScanner.attachKeypad($("keypad"), scan);

  /* ---- scanning ---------------------------------------------------------------------------------------- */
  CMScanner.attach(scan, async (code) => {
    if (tab === "low") return;
    if (CMScanner.isCard(code)) { message(t("tablet.stock.is_card"), "warn"); return; }
    const answer = await CM.api("GET", "/products/" + encodeURIComponent(code));
    if (answer.status === 404 && tab === "receive") { askNewProduct(code); return; }
    if (!answer.ok) { message(`${code}: ${CM.errorText(answer)}`, "error"); return; }
    addScanned(answer.body);
  });

  function addScanned(product) {
    const onHand = product.stock ? product.stock.qty : 0;
    if (tab === "receive") {
      const line = receive.get(product.barcode) || { barcode: product.barcode, name: product.name, unit: product.unit,
                                                     onHand, qty: 0 };
      line.qty += 1;
      receive.delete(product.barcode);
      receive.set(product.barcode, line);  // the latest scan goes to the bottom, where the eye is
      message(t("tablet.stock.added", { name: product.name, qty: line.qty }), "ok");
    } else {
      const line = count.get(product.barcode) || { barcode: product.barcode, name: product.name, unit: product.unit,
                                                   expected: onHand, counted: 0 };
      line.counted += 1;
      count.delete(product.barcode);
      count.set(product.barcode, line);
      message(t("tablet.stock.counted_n", { name: product.name, qty: line.counted }), "ok");
    }
    save();
    render();
  }

  /* ---- a barcode the catalogue does not know: add it while receiving --------------------------------- */
  function askNewProduct(code) {
    $("new-product").hidden = false;
    $("np-barcode").textContent = code;
    $("np-name").value = "";
    $("np-price").value = "";
    $("np-unit").value = "";
    $("np-name").focus();
    message(t("tablet.stock.unknown", { code }), "warn");
  }
  $("np-cancel").addEventListener("click", () => { $("new-product").hidden = true; scan.focus(); });
  $("new-product").addEventListener("submit", async (event) => {
    event.preventDefault();
    const price = parseInt($("np-price").value, 10);
    const body = { barcode: $("np-barcode").textContent, name: $("np-name").value.trim(), points_price: price };
    if ($("np-unit").value.trim()) body.unit = $("np-unit").value.trim();
    if (!body.name || !(price > 0)) { message(t("tablet.required"), "error"); return; }
    const answer = await CM.api("POST", "/products", body);
    if (!answer.ok) { message(CM.errorText(answer), "error"); return; }
    $("new-product").hidden = true;
    addScanned({ ...answer.body, stock: { qty: 0 } });
    scan.focus();
  });

  /* ---- the two lists --------------------------------------------------------------------------------- */
  function qtyCell(line, field, map, min) {
    const input = el("input", { type: "number", inputmode: "numeric", min, max: 999999, value: line[field],
                                class: "qty-input", "aria-label": t("tablet.qty") });
    input.addEventListener("change", () => {
      const value = parseInt(input.value, 10);
      line[field] = Number.isFinite(value) && value >= min ? Math.min(value, 999999) : min;
      save(); render();
    });
    const step = (delta) => () => { line[field] = Math.max(min, line[field] + delta); save(); render(); };
    return el("td", { class: "qty-col" }, el("div", { class: "stepper" },
      el("button", { type: "button", class: "btn step", "aria-label": "−", onclick: step(-1) }, "−"), input,
      el("button", { type: "button", class: "btn step", "aria-label": "+", onclick: step(1) }, "+")));
  }
  const removeCell = (map, barcode) => el("td", {}, el("button", {
    type: "button", class: "btn btn-ghost remove", "aria-label": t("tablet.remove"),
    onclick: () => { map.delete(barcode); save(); render(); } }, "✕"));

  /* The product's shelf label on the shop's receipt printer (小票机), with a preview of what prints. */
  const labelCell = (line) => el("td", {}, el("button", {
    type: "button", class: "btn btn-ghost label-print", title: t("print.label_to_printer"),
    onclick: () => CM.printOnReceiptPrinter(`/products/${encodeURIComponent(line.barcode)}/label/print`,
                                            { store: user.store, copies: 1 }, $("scan-message"),
                                            t("print.label_queued", { name: line.name })) },
    t("print.label_to_printer")));

  function render() {
    $("receive-lines").tBodies[0].replaceChildren(...[...receive.values()].map((line) => el("tr", {},
      el("td", {}, el("div", { class: "user-text" }, line.name), el("div", { class: "muted mono small" }, line.barcode)),
      el("td", { class: "num" }, line.onHand),
      qtyCell(line, "qty", receive, 1), labelCell(line), removeCell(receive, line.barcode))));
    $("receive-empty").hidden = receive.size > 0;
    $("receive-submit").disabled = receive.size === 0;
    const units = [...receive.values()].reduce((sum, line) => sum + line.qty, 0);
    $("receive-total").textContent = receive.size ? t("tablet.stock.receive_total", { lines: receive.size, units }) : "";

    $("count-lines").tBodies[0].replaceChildren(...[...count.values()].map((line) => {
      const diff = line.counted - line.expected;
      return el("tr", {},
        el("td", {}, el("div", { class: "user-text" }, line.name), el("div", { class: "muted mono small" }, line.barcode)),
        el("td", { class: "num" }, line.expected),
        qtyCell(line, "counted", count, 0),
        el("td", { class: "num " + (diff < 0 ? "minus" : diff > 0 ? "plus" : "") }, (diff > 0 ? "+" : "") + diff),
        removeCell(count, line.barcode));
    }));
    $("count-empty").hidden = count.size > 0;
    $("count-submit").disabled = count.size === 0;
  }

  $("receive-clear").addEventListener("click", () => { receive.clear(); save(); render(); });
  $("count-clear").addEventListener("click", () => { count.clear(); save(); render(); });

  /* ---- submitting: exactly once, resumed after a reload -------------------------------------------- */
  async function submitReceipt(request) {
    $("receive-submit").disabled = true;
    message(t("tablet.sending"), "muted");
    const answer = await CM.sendOnce("receipt", request);
    if (!answer.ok) { message(CM.errorText(answer), "error"); render(); return; }
    const units = answer.body.lines.reduce((sum, m) => sum + m.qty_delta, 0);
    message(t("tablet.stock.received", { lines: answer.body.lines.length, units }), "ok");
    receive.clear(); $("receive-note").value = ""; save(); render();
  }
  $("receive-submit").addEventListener("click", () => {
    const body = { id: CM.newId(), store: user.store,
                   lines: [...receive.values()].map((line) => ({ barcode: line.barcode, qty: line.qty })) };
    const note = $("receive-note").value.trim();
    if (note) body.note = note;
    submitReceipt({ method: "POST", path: "/stock/receipts", body });
  });

  async function submitStocktake(request) {
    $("count-submit").disabled = true;
    message(t("tablet.sending"), "muted");
    const answer = await CM.sendOnce("stocktake", request);
    if (!answer.ok) { message(CM.errorText(answer), "error"); render(); return; }
    const changed = answer.body.lines.filter((line) => line.difference);
    const box = $("count-result");
    box.replaceChildren(
      el("p", { class: "ok" }, t("tablet.stock.stocktake_done", { lines: answer.body.lines.length,
                                                                   differences: answer.body.differences })),
      changed.length ? el("table", {}, el("tbody", {}, ...changed.map((line) => el("tr", {},
        el("td", { class: "user-text" }, line.name), el("td", { class: "num" }, line.expected),
        el("td", { class: "num" }, line.counted),
        el("td", { class: "num " + (line.difference < 0 ? "minus" : "plus") },
           (line.difference > 0 ? "+" : "") + line.difference))))) : null);
    box.hidden = false;
    message("");
    count.clear(); save(); render();
  }
  $("count-submit").addEventListener("click", async () => {
    const ok = await CM.ask({ message: t("tablet.stock.stocktake_confirm", { lines: count.size }) });
    if (!ok) return;
    submitStocktake({ method: "POST", path: "/stock/stocktakes", body: {
      id: CM.newId(), store: user.store,
      counts: [...count.values()].map((line) => ({ barcode: line.barcode, counted: line.counted })) } });
  });

  /* ---- low stock ------------------------------------------------------------------------------------- */
  async function loadLow() {
    const answer = await CM.api("GET", "/stock?low=true&limit=1000");
    if (!answer.ok) { $("low-summary").textContent = CM.errorText(answer); return; }
    const levels = answer.body.levels;
    $("low-list").tBodies[0].replaceChildren(...levels.map((level) => el("tr", {},
      el("td", { class: "mono" }, level.barcode), el("td", { class: "user-text" }, level.name),
      el("td", { class: "num minus" }, `${level.qty} ${level.unit}`), el("td", { class: "num" }, level.reorder_level))));
    $("low-summary").textContent = t("tablet.stock.low_count", { count: levels.length });
  }
  $("low-refresh").addEventListener("click", loadLow);

  render();
  const receiptLeft = CM.pending("receipt"), stocktakeLeft = CM.pending("stocktake");
  if (receiptLeft) submitReceipt(receiptLeft);
  if (stocktakeLeft) submitStocktake(stocktakeLeft);
});
