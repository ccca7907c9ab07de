MESSAGES = {
    "app.title": ("信用超市", "Credit supermarket"),
    "app.tagline": ("志愿服务积分 · 兑换 · 对账", "Volunteer points · redemption · reconciliation"),
}
