"""What the ledger's HTTP errors and CLI say, in zh-CN and en."""

MESSAGES = {
    "error.already_reversed": ("该笔转账已冲正", "This transfer has already been reversed"),
    "error.not_reversible": ("冲正记录不能再冲正", "A reversal cannot itself be reversed"),
    "ledger.progress.verify": ("校验账本", "Verifying the ledger"),
    "ledger.progress.export": ("导出账本", "Exporting the ledger"),
    "ledger.progress.check": ("校验导出文件", "Checking the export"),
    "ledger.verify.ok": (
        "账本校验通过：共 {transfers} 笔转账，链头 seq {seq}，哈希 {hash}",
        "Ledger verified: {transfers} transfers, head seq {seq}, hash {hash}",
    ),
    "ledger.verify.failed": (
        "账本校验失败：共 {count} 处问题，第一处在 seq {seq}：{what}",
        "Ledger verification FAILED: {count} problem(s), the first at seq {seq}: {what}",
    ),
    "ledger.verify.failed_no_seq": (
        "账本校验失败：共 {count} 处问题：{what}",
        "Ledger verification FAILED: {count} problem(s): {what}",
    ),
    "ledger.check.ok": (
        "导出文件校验通过：共 {transfers} 笔转账，最后 seq {seq}，哈希 {hash}",
        "Export verified: {transfers} transfers, last seq {seq}, hash {hash}",
    ),
    "ledger.check.failed": (
        "导出文件校验失败：共 {count} 处问题，第一处在 seq {seq}：{what}",
        "Export check FAILED: {count} problem(s), the first at seq {seq}: {what}",
    ),
    "ledger.check.failed_no_seq": (
        "导出文件校验失败：共 {count} 处问题：{what}",
        "Export check FAILED: {count} problem(s): {what}",
    ),
    "ledger.export.done": (
        "已导出 {transfers} 笔转账（seq {after_seq} 之后，到 seq {seq}）至 {file}，最后哈希 {hash}",
        "Exported {transfers} transfers (after seq {after_seq}, up to seq {seq}) to {file}, last hash {hash}",
    ),
    "ledger.problem.line": ("  seq {seq}：{what} — {detail}", "  seq {seq}: {what} — {detail}"),
    "ledger.problem.more": ("  ……另有 {count} 处问题未列出", "  ... and {count} more not listed"),
    "ledger.problem.gap": ("缺少转账（序号不连续）", "gap: a transfer is missing"),
    "ledger.problem.out_of_order": ("序号顺序错乱", "out of order"),
    "ledger.problem.chain_broken": ("哈希链断开（前一哈希不符）", "chain broken: prev_hash does not match"),
    "ledger.problem.hash_mismatch": ("哈希不符（内容被改动）", "hash mismatch: the content was changed"),
    "ledger.problem.balance_mismatch": ("余额不符", "balance mismatch"),
    "ledger.problem.overdrawn": ("会员账户余额为负", "a holder's account is below zero"),
    "ledger.problem.sum_not_zero": ("所有账户余额之和不为零", "the balances do not sum to zero"),
    "ledger.problem.orphan_entry": ("存在无对应转账的分录", "an entry without its transfer"),
    "ledger.problem.truncated": ("账本末尾缺少转账（被截断）", "truncated: transfers are missing at the end"),
    "ledger.problem.head_mismatch": ("链头与最后一笔转账不符", "the chain head does not match the last transfer"),
    "ledger.problem.anchor_mismatch": ("与先前记录的链头哈希不符", "does not match the head recorded earlier"),
    "ledger.problem.malformed": ("导出文件中有无法读取的行", "an unreadable line in the export"),
}
