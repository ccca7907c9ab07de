/* A member card scanned anywhere on the members pages (/members, /members/<id>) opens that member's page.

   The pages have no scan field: their fields are for names, phones and households, typed by a person. The
   scanner's page-wide recognition (CMScanner.listen: speed and the Enter suffix, wherever the focus is) takes a
   card or a goods barcode back out of the field it landed in; anything else typed fast stays where it was typed
   and its Enter does what it always does (the find box searches). The card is looked up like at the counter, and
   a refusal says why: blocked because a newer card exists (or the account is closed), unknown, another shop's. */
"use strict";
(function () {
  /* Which fast bursts are scans here: card numbers (a wrong check digit too: the server says it is unknown) and
     whole goods codes (to say that they are not a member card). */
  function accept(code) {
    return CMScanner.isCard(code) || CMScanner.looksComplete(code);
  }

  function refusal(answer, code) {
    const { t } = CM;
    const error = (answer.body && answer.body.error) || {};
    const details = error.details || {};
    if (error.code === "card_blocked" && details.replaced) {
      return t("tablet.members.scan_blocked_replaced", { name: details.name });
    }
    if (error.code === "card_blocked" && details.closed) {
      return t("tablet.members.scan_blocked_closed", { name: details.name });
    }
    if (error.code === "unknown_card") return t("tablet.members.scan_unknown", { card: code });
    if (error.code === "forbidden" && details.reason === "other_store") return t("tablet.members.scan_other_shop");
    return CM.errorText(answer);
  }

  /* Says what happened in `messageNode`; `currentId` is the member whose page is open (none on /members). */
  function attach(messageNode, currentId) {
    const { t } = CM;
    const say = (text, tone) => CM.say(messageNode, text, tone);
    let looking = null;  // the card being looked up: the same card scanned twice meanwhile is one look-up

    async function onScan(code) {
      if (!CMScanner.isCard(code)) { say(t("tablet.members.scan_not_card", { code }), "error"); return; }
      if (looking === code) return;
      looking = code;
      say(t("common.loading"), "muted");
      const answer = await CM.api("GET", "/cards/" + encodeURIComponent(code));
      if (looking !== code) return;  // another card was scanned meanwhile: its answer speaks
      looking = null;
      if (!answer.ok) { say(refusal(answer, code), "error"); return; }
      const m = answer.body;
      if (m.member_id === currentId) { say(t("tablet.members.scan_this", { name: m.name }), "ok"); return; }
      say(t("tablet.members.scan_opening", { name: m.name }), "ok");
      location.href = "/members/" + encodeURIComponent(m.member_id);
    }
    CMScanner.listen(onScan, { accept });
  }

  window.CMMemberScan = { attach, accept };
})();
