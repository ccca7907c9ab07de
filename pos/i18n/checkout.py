"""Checkout: its own error code, and the notes printed on a Z report (printed in Chinese, as receipts are)."""

MESSAGES = {
    "error.no_open_shift": ("没有未交班的班次（本班尚无兑换）", "No open shift (no sale since the last close)"),
    "checkout.z.ledger_ok": (
        "账本第 {from_seq}–{to_seq} 号：兑换 {redeemed} 分，作废退回 {reversed} 分，与小票一致",
        "Ledger #{from_seq}–{to_seq}: {redeemed} points redeemed, {reversed} returned by voids, as the receipts say",
    ),
    "checkout.z.ledger_mismatch": (
        "账本第 {from_seq}–{to_seq} 号：兑换 {redeemed} 分、退回 {reversed} 分，"
        "小票：兑换 {sales} 分、作废 {voids} 分，不一致，请联系民政局",
        "Ledger #{from_seq}–{to_seq}: {redeemed} redeemed, {reversed} returned; receipts: {sales} sold, "
        "{voids} voided. They disagree: call the bureau",
    ),
    "checkout.z.late_voids": (
        "含前班销售本班作废 {count} 笔，退回 {points} 分",
        "includes {count} voids of earlier shifts' sales, {points} points returned",
    ),
}
