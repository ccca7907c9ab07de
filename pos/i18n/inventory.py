"""Goods and stock: error codes of our own, movement kinds, adjustment reasons, import problems, CLI output."""

MESSAGES = {
    "error.product_exists": (
        "该条码的商品已存在",
        "A product with this barcode already exists",
    ),
    # Movement kinds and adjustment reasons, as a stock list or a report shows them.
    "inventory.kind.receipt": ("入库", "Receipt"),
    "inventory.kind.sale": ("兑换出库", "Sale"),
    "inventory.kind.void_return": ("作废退回", "Void return"),
    "inventory.kind.adjustment": ("库存调整", "Adjustment"),
    "inventory.kind.stocktake": ("盘点差异", "Stocktake difference"),
    "inventory.kind.donation_in": ("捐赠入库", "Donation in"),
    "inventory.kind.transfer_out": ("调出", "Transfer out"),
    "inventory.kind.transfer_in": ("调入", "Transfer in"),
    "inventory.reason.damaged": ("破损", "Damaged"),
    "inventory.reason.expired": ("过期", "Expired"),
    "inventory.reason.lost": ("丢失", "Lost"),
    "inventory.reason.found": ("盘盈/找回", "Found"),
    "inventory.reason.correction": ("更正", "Correction"),
    # Why a barcode was refused (details.reason of invalid_barcode).
    "inventory.barcode.empty": ("条码为空", "The barcode is empty"),
    "inventory.barcode.not_digits": ("条码只能包含数字", "A barcode has digits only"),
    "inventory.barcode.wrong_length": (
        "条码须为 8、12 或 13 位",
        "A barcode has 8, 12 or 13 digits",
    ),
    "inventory.barcode.check_digit": (
        "条码校验位错误",
        "The barcode's check digit is wrong",
    ),
    # Catalogue import problems: inventory.import.<reason>, with {line} and {column}.
    "inventory.import.line": ("第 {line} 行 {column}：{text}", "line {line}, {column}: {text}"),
    "inventory.import.empty": ("为空", "is empty"),
    "inventory.import.unreadable": ("无法读取（{error}）", "cannot be read ({error})"),
    "inventory.import.missing_columns": ("缺少列：{columns}", "missing columns: {columns}"),
    "inventory.import.field_count": (
        "应有 {expected} 列，实际 {found} 列",
        "{found} fields where {expected} are expected",
    ),
    "inventory.import.not_digits": (
        "条码 {barcode} 只能包含数字",
        "barcode {barcode} has characters other than digits",
    ),
    "inventory.import.wrong_length": ("条码 {barcode} 为 {length} 位，应为 8、12 或 13 位",
                                      "barcode {barcode} has {length} digits, not 8, 12 or 13"),
    "inventory.import.check_digit": ("条码 {barcode} 校验位错误，应为 {expected_check_digit}",
                                     "barcode {barcode} has a wrong check digit; it should be {expected_check_digit}"),
    "inventory.import.duplicate": (
        "条码与第 {first_line} 行重复",
        "the barcode repeats line {first_line}",
    ),
    "inventory.import.too_long": ("过长", "is too long"),
    "inventory.import.not_a_whole_number_1_to_999999": (
        "须为 1 至 999999 的整数",
        "must be a whole number 1 to 999999",
    ),
    "inventory.import.not_a_whole_number_0_to_999999": (
        "须为 0 至 999999 的整数",
        "must be a whole number 0 to 999999",
    ),
    "inventory.import.rejected": ("有 {count} 行有误，未导入任何商品（可用 --partial 只导入正确的行）",
                                  "{count} bad rows: nothing imported (--partial imports the good rows)"),
    "inventory.import.done": ("已导入 {rows} 行：新增 {created}，更新 {updated}（改价 {price_changes}），"
                              "未变 {unchanged}，门店库存设置 {levels_set}，跳过错误行 {skipped}",
                              "imported {rows} rows: {created} new, {updated} updated ({price_changes} price changes), "
                              "{unchanged} unchanged, {levels_set} shop levels set, {skipped} bad rows skipped"),
    "inventory.export.done": (
        "已导出 {count} 个商品到 {file}",
        "exported {count} products to {file}",
    ),
    # The stock list on the command line.
    "inventory.stock.header": (
        "条码\t名称\t单位\t库存\t补货线\t积分\t状态",
        "barcode\tname\tunit\tqty\treorder\tpoints\tstatus",
    ),
    "inventory.stock.low": ("低库存", "low"),
    "inventory.stock.summary": ("共 {products} 种商品，{low} 种低于补货线；库存价值 {points} 积分",
                                "{products} products, {low} under their reorder level; stock worth {points} points"),
    "inventory.check.ok": (
        "库存核对无误：每个库存数都等于其流水之和",
        "Stock check passed: every level equals the sum of its movements",
    ),
    "inventory.check.problem": ("门店 {store_id} 商品 {product_id}：{what} 应为 {expected}，实为 {found}",
                                "store {store_id} product {product_id}: {what} should be {expected}, is {found}"),
    "inventory.settings.done": (
        "门店 {store} 允许负库存：{allowed}",
        "shop {store} allows negative stock: {allowed}",
    ),
}
