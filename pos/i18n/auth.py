MESSAGES = {
    "role.admin": ("管理员", "Administrator"),
    "role.auditor": ("民政局审计", "Bureau auditor"),
    "role.manager": ("店长", "Store manager"),
    "role.clerk": ("店员", "Clerk"),
    "role.coordinator": ("志愿服务组织者", "Volunteer coordinator"),
    "role.print_agent": ("打印代理", "Print agent"),
    "language.zh-CN": ("简体中文", "Simplified Chinese"),
    "language.en": ("英文", "English"),
}
