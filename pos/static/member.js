/* One member: details, cards, reissue of a lost card, the card image to print, the statement. Another member's
   card scanned here opens that member (memberscan.js). */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const user = CM.requireRole("manager", "clerk");
  if (!user) return;
  const { el, t } = CM;
  const $ = (id) => document.getElementById(id);
  const memberId = location.pathname.split("/").filter(Boolean).pop();
  const manager = user.role === "manager";
  let nextBefore = null;
  let cardUrl = null;
  CMMemberScan.attach($("member-message"), memberId);

  function codeLabel(code) {
    const key = "tablet.code." + code;
    const text = t(key);
    return text === key ? code : text;
  }

  async function load() {
    const answer = await CM.api("GET", "/members/" + encodeURIComponent(memberId));
    if (!answer.ok) { CM.say($("member-message"), CM.errorText(answer), "error"); return; }
    const m = answer.body;
    $("m-name").textContent = m.name;
    document.title = m.name + " · " + t("app.title");
    $("m-card").textContent = m.card_number || "—";
    $("m-phone").textContent = m.phone || m.phone_masked || "—";
    $("m-household").textContent = m.household || "—";
    $("m-balance").textContent = t("tablet.points_n", { n: m.balance });
    $("m-pending").textContent = t("tablet.points_n", { n: m.pending_points || 0 });
    $("m-status").textContent = t("tablet.member_status." + m.status);
    $("m-consent").textContent = `${CM.formatTime(m.consent_at)} · ${m.consent_recorded_by}`;
    $("m-cards").tBodies[0].replaceChildren(...m.cards.map((c) => el("tr", {},
      el("td", { class: "mono" }, c.card_number),
      el("td", { class: c.status === "active" ? "ok" : "muted" }, t("tablet.card_status." + c.status)),
      el("td", {}, CM.formatTime(c.issued_at)))));
    $("m-reissue").hidden = !manager;
    $("m-card-show").hidden = !manager || !m.card_number;
    $("m-card-thermal").hidden = !m.card_number;  // whoever registers members may print their card
    $("member").hidden = false;
  }

  async function statement(more) {
    const query = new URLSearchParams({ limit: "50" });
    if (more && nextBefore) query.set("before_seq", String(nextBefore));
    const answer = await CM.api("GET", `/members/${encodeURIComponent(memberId)}/statement?${query}`);
    if (!answer.ok) { CM.say($("member-message"), CM.errorText(answer), "error"); return; }
    const rows = answer.body.entries.map((e) => el("tr", {},
      el("td", {}, CM.formatTime(e.at)),
      el("td", {}, codeLabel(e.code)),
      el("td", { class: "num " + (e.amount < 0 ? "minus" : "plus") }, (e.amount > 0 ? "+" : "") + e.amount),
      el("td", { class: "num" }, e.balance_after)));
    const body = $("statement").tBodies[0];
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    $("statement-empty").hidden = body.rows.length > 0;
    nextBefore = answer.body.next_before_seq;
    $("statement-more").hidden = !nextBefore;
  }
  $("statement-more").addEventListener("click", () => statement(true));

  $("m-reissue").addEventListener("click", async () => {
    const ok = await CM.ask({ message: t("tablet.members.reissue_confirm", { name: $("m-name").textContent }),
                              confirm: t("tablet.members.reissue"), danger: true });
    if (!ok) return;
    const previous = CM.pending("reissue:" + memberId);
    const body = { id: previous ? previous.body.id : CM.newId() };
    const answer = await CM.sendOnce("reissue:" + memberId,
                                     { method: "POST", path: `/members/${encodeURIComponent(memberId)}/cards`, body });
    if (!answer.ok) { CM.say($("member-message"), CM.errorText(answer), "error"); return; }
    CM.say($("member-message"), t("tablet.members.reissued", { card: answer.body.card_number }), "ok");
    $("m-card-box").hidden = true;
    await load();
  });

  /* The card image comes with the bearer token, so it is fetched and shown from a blob: URL. An SVG in an
     <img> never runs script. */
  $("m-card-show").addEventListener("click", async () => {
    const response = await CM.api("GET", `/members/${encodeURIComponent(memberId)}/card.png`, undefined, { raw: true });
    if (!response.ok) { CM.say($("member-message"), t("common.error"), "error"); return; }
    if (cardUrl) URL.revokeObjectURL(cardUrl);
    cardUrl = URL.createObjectURL(await response.blob());
    $("m-card-image").src = cardUrl;
    $("m-card-box").hidden = false;
  });
  /* The card on the shop's receipt printer (小票机): a job like a receipt's, with a preview of what prints. */
  $("m-card-thermal").addEventListener("click", async () => {
    $("m-card-thermal").disabled = true;
    try {
      await CM.printOnReceiptPrinter(`/members/${encodeURIComponent(memberId)}/card/print`, {}, $("member-message"),
                                     t("print.card_queued", { name: $("m-name").textContent }));
    } finally {
      $("m-card-thermal").disabled = false;
    }
  });
  $("m-card-print").addEventListener("click", () => {
    const frame = $("print-frame");
    const doc = frame.contentDocument;
    const style = doc.createElement("style");
    style.textContent = "@page { margin: 10mm; } img { width: 85.6mm; height: 54mm; }";
    const img = doc.createElement("img");
    img.src = cardUrl;
    doc.head.replaceChildren(style);
    doc.body.replaceChildren(img);
    img.decode().then(() => frame.contentWindow.print(), () => frame.contentWindow.print());
  });

  load().then(() => statement(false));
});
