MESSAGES = {
    "members.card_title": ("会员卡", "Member card"),
    "members.sheet_title": ("会员卡打印页", "Member cards to print"),
    "members.sheet_summary": ("{store}：共 {count} 张会员卡", "{store}: {count} member cards"),
    "members.sheet_household": ("户号 {household}", "Household {household}"),
    "members.sheet_hint": (
        "用 A4 卡纸打印（Ctrl+P），缩放选 100%，沿虚线裁切。",
        "Print on A4 card stock (Ctrl+P) at 100% scale, then cut along the dashed lines.",
    ),
    "members.sheet_empty": ("没有符合条件的会员", "No members match"),
    "members.sheet_page": ("页", "Page"),
}
