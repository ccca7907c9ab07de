MESSAGES = {
    # errors of the earning work (the codes shared with API.md, four_eyes, already_decided and limit_exceeded,
    # are in errors.py)
    "error.not_checked_in": ("该会员未在此活动签到，不能签退", "This member is not checked in at this activity"),
    "error.out_before_in": ("签退时间早于签到时间", "The check-out time is before the check-in time"),
    "error.no_points": ("不足一积分，无法记录", "Too little to earn a point; nothing was recorded"),
    "error.bulk_refused": (
        "部分会员卡有误，全部未记录，请按提示修改后重试",
        "Some cards were refused, so nothing was recorded; correct them and try again",
    ),
    "error.unknown_category": ("未知的活动类别", "Unknown activity category"),
    "error.duplicate_card": ("同一会员在名单中出现两次", "The same member appears twice in the list"),
    # which limit a limit_exceeded names (details.limit)
    "earning.limit.overlap": ("与该会员已记录的服务时间重叠", "Overlaps time already recorded for this member"),
    "earning.limit.daily_cap": ("超过每人每天 12 小时的上限", "More than 12 hours in one day for this member"),
    "earning.limit.minutes_range": ("时长须大于 0 且不超过 24 小时", "Minutes must be above 0 and at most 24 hours"),
    # kinds and statuses
    "earning.kind.volunteer_hours": ("志愿服务", "Volunteer hours"),
    "earning.kind.donation_cash": ("现金捐赠", "Cash donation"),
    "earning.kind.donation_goods": ("物品捐赠", "Goods donation"),
    "earning.status.pending": ("待审核", "Pending"),
    "earning.status.posted": ("已入账", "Posted"),
    "earning.status.rejected": ("未通过", "Rejected"),
    "earning.attendance.in": ("签到", "Check in"),
    "earning.attendance.out": ("签退", "Check out"),
    "earning.attendance.already_in": ("已签到，无需重复签到", "Already checked in"),
    # the public notice (公示)
    "notice.title": ("积分公示", "Points notice"),
    "notice.period": ("公示期间：{first} 至 {last}", "Period: {first} to {last}"),
    "notice.col.date": ("日期", "Date"),
    "notice.col.name": ("姓名", "Name"),
    "notice.col.what": ("事项", "For"),
    "notice.col.points": ("积分", "Points"),
    "notice.minutes": ("{hours} 小时 {minutes} 分钟", "{hours} h {minutes} min"),
    "notice.cash": ("捐款 {yuan} 元", "Donated {yuan} yuan"),
    "notice.goods": ("捐赠物品：{items}", "Donated goods: {items}"),
    "notice.total": ("合计 {count} 条，{points} 积分", "{count} entries, {points} points in total"),
    "notice.empty": ("本期无积分记录", "No points were earned in this period"),
    "notice.footer": (
        "姓名已部分隐去。如有异议，请在公示期内向本店店长反映。",
        "Names are partly hidden. Objections go to the shop manager during the notice period.",
    ),
    "notice.printed": ("打印时间：{at}", "Printed: {at}"),
}
