"""Reconciliation (对账): where points came from and went, for any period and any set of shops, and the
identities that prove the books whole.

The ledger is the source of truth. Everything is read with aggregate queries (GROUP BY in the database; no
transfer is loaded into Python), over the journal cut at two seqs (`periods.Cut`), each a scan of a covering
index in an order that needs no sort (`pos.bureau.models`):

1. *flows* — the period's transfers by shop, code and account, one scan per side: issued (volunteer_hours,
   donation), redeemed, reversed, adjusted, each with what it did to holders' accounts (a transfer counts for
   the shop it happened at), and what touched holders of another shop (`cross_shop_net`);
2. *balances* — every holder's balance at the start and the end of the period as the journal recorded it
   (the balance after its last entry before the cut, found by the account's version at the cut: one pass over
   each side's statement index, only for a cut inside the journal) and its balance cached on the account;
3. *contributions* — the approved contributions behind the issued points, by activity category;
4. *sales* — the ledger against checkout's sales and the inventory's stock (`pos.bureau.sales`).

What members hold counts for their home shop (the account's shop).

The identities (each names the transfers behind it when it fails):
- `flows`: issued − redeemed + reversals ± adjustments (± what holders did at other shops) = outstanding at
  the end − outstanding at the start. The left side adds amounts, the right side reads the balances the
  journal recorded: a changed amount or balance shows;
- `cached_balances`: the sum of members' balances (cached on their accounts) = the outstanding in the journal
  (the balances after their last entries);
- `zero_sum` (every shop): every account's cached balance sums to zero;
- `issued_contributions`: the points issued (less issues reversed) = the points of the contributions approved;
- `redeemed_lines`, `redeemed_stock` (`pos.bureau.sales`): the points redeemed at a shop = its sale lines'
  qty × price = the points value of the goods that left its stock through sales.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, literal_column, select
from sqlalchemy.orm import Session

from ledger.earning import ActivityCategory, Contribution
from ledger.models import ADJUSTMENT, DONATION, REDEMPTION, REVERSAL, VOLUNTEER_HOURS, Account
from pos.bureau import journal, sales
from pos.bureau.identity import MAX_LISTED, Identity
from pos.bureau.journal import transfers
from pos.bureau.periods import Cut, Period, cut

ISSUE_CODES = (VOLUNTEER_HOURS, DONATION)
MAX_ACCOUNTS_WALKED = 20  # accounts whose entries are walked to find where a balance stops following

contributions = Contribution.__table__
categories = ActivityCategory.__table__
accounts = Account.__table__

NO_STORE = None  # transfers and accounts of no shop (the bureau's own corrections)


@dataclass
class Figures:
    """One shop's (or a set of shops') figures for the period."""

    volunteer_hours: int = 0
    donation: int = 0
    redeemed: int = 0
    reversed: int = 0  # the amount of every reversal transfer
    reversals_net: int = 0  # what they did to holders: + points given back (voids), - points taken back
    reversed_by_code: dict[str, int] = field(default_factory=dict)  # by the reversed transfer's code
    adjusted_net: int = 0
    adjusted_in: int = 0
    adjusted_out: int = 0
    other_net: int = 0  # holder movements of no recognised kind (none in a sound journal)
    transfers: int = 0
    cross_shop_net: int = 0
    outstanding_start: int = 0
    outstanding: int = 0  # at the end of the period, from the balances the journal recorded
    members_balance_total: int = 0  # cached on the accounts, now
    journal_outstanding_now: int = 0  # the balances after each account's last entry, now
    holders: int = 0

    @property
    def issued(self) -> int:
        return self.volunteer_hours + self.donation

    @property
    def flows_net(self) -> int:
        return self.issued - self.redeemed + self.reversals_net + self.adjusted_net + self.other_net

    def add(self, other: Figures) -> None:
        for name in ("volunteer_hours", "donation", "redeemed", "reversed", "reversals_net", "adjusted_net",
                     "adjusted_in", "adjusted_out", "other_net", "transfers", "cross_shop_net", "outstanding_start",
                     "outstanding", "members_balance_total", "journal_outstanding_now", "holders"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, amount in other.reversed_by_code.items():
            self.reversed_by_code[code] = self.reversed_by_code.get(code, 0) + amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "issued": {"volunteer_hours": self.volunteer_hours, "donation": self.donation, "total": self.issued},
            "redeemed": self.redeemed,
            "reversed": self.reversed,
            "reversals": {"net": self.reversals_net, "by_reversed_code": dict(sorted(self.reversed_by_code.items()))},
            "adjusted": {"net": self.adjusted_net, "credited": self.adjusted_in, "debited": self.adjusted_out},
            "other_net": self.other_net,
            "cross_shop_net": self.cross_shop_net,
            "transfers": self.transfers,
            "outstanding_start": self.outstanding_start,
            "outstanding": self.outstanding,
            "members_balance_total": self.members_balance_total,
            "journal_outstanding_now": self.journal_outstanding_now,
            "holders": self.holders,
        }


@dataclass
class CategoryLine:
    category_id: int | None
    kind: str
    name_zh: str
    name_en: str
    points: int = 0
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"category_id": self.category_id, "kind": self.kind, "name_zh": self.name_zh, "name_en": self.name_en,
                "points": self.points, "count": self.count}


@dataclass
class StoreReport:
    store_id: int | None
    code: str | None
    name: str | None
    figures: Figures
    categories: list[CategoryLine]
    identities: list[Identity]
    sales: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.code, "name": self.name, **self.figures.to_dict(),
                "issued_by_category": [c.to_dict() for c in self.categories], "sales": self.sales,
                "identities": [i.to_dict() for i in self.identities]}


@dataclass
class Reconciliation:
    period: Period
    cut: Cut
    selected: list[str] | None  # shop codes, or None for every shop
    figures: Figures
    categories: list[CategoryLine]
    identities: list[Identity]
    stores: list[StoreReport]
    sales: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.identities) and all(i.ok for s in self.stores for i in s.identities)

    def to_dict(self) -> dict[str, Any]:
        return {"period": {**self.period.to_dict(), **self.cut.to_dict()}, "stores_selected": self.selected,
                "ok": self.ok, **self.figures.to_dict(),
                "issued_by_category": [c.to_dict() for c in self.categories], "sales": self.sales,
                "identities": [i.to_dict() for i in self.identities],
                "stores": [s.to_dict() for s in self.stores]}


# ------------------------------------------------------------------------------------------------ the report


def reconcile(session: Session, period: Period, store_ids: Sequence[int] | None = None) -> Reconciliation:
    """The reconciliation of `period` for the shops `store_ids` (None: every shop, and what belongs to none).
    Run it in one snapshot (`ledger.snapshot_session`) so that every query sees the same journal."""
    conn = session.connection()
    tune_for_scans(conn)
    names = journal.store_names(conn)
    selected: list[int | None] = list(names) + [NO_STORE] if store_ids is None else list(dict.fromkeys(store_ids))
    filter_ids = None if store_ids is None else selected
    position = cut(conn, period)
    per_store = {s: Figures() for s in selected}
    _flows(conn, position, journal.holder_homes(conn), per_store)
    holders = journal.holder_accounts(conn, filter_ids)
    start, end = _period_balances(conn, holders, position)
    _place_holders(per_store, holders, start, end)
    disagreeing: dict[int | None, list[int]] = defaultdict(list)
    for account in holders.values():
        if not account.agrees:
            disagreeing[account.store_id].append(account.id)

    by_category = categories_by_store(conn, position, filter_ids)
    contribution_totals = {s: sum(line.points for line in lines) for s, lines in by_category.items()}
    ledger_sales = {s: (per_store[s].redeemed, per_store[s].reversed_by_code.get(REDEMPTION, 0))
                    for s in selected if s is not None}
    sale_checks = sales.reconcile_sales(conn, period, position, ledger_sales)

    stores: list[StoreReport] = []
    for store_id in selected:
        figures = per_store[store_id]
        if store_id is NO_STORE and figures == Figures():
            continue
        code, name = names.get(store_id, (None, None)) if store_id is not None else (None, None)
        identities = [
            _flows_identity(conn, figures, position, {store_id}, holders, start, end),
            _cached_identity(figures, disagreeing.get(store_id, []), holders),
            _contributions_identity(conn, figures, contribution_totals.get(store_id, 0), position, {store_id}),
        ]
        store_sales = sale_checks.get(store_id)
        if store_sales is not None:
            identities.extend(store_sales.identities)
        stores.append(StoreReport(store_id, code, name, figures, by_category.get(store_id, []), identities,
                                  store_sales.to_dict() if store_sales is not None else {}))

    total = Figures()
    for figures in per_store.values():
        total.add(figures)
    everywhere = set(selected)
    identities = [
        _flows_identity(conn, total, position, everywhere, holders, start, end),
        _cached_identity(total, sorted(a for s in selected for a in disagreeing.get(s, [])), holders),
        _contributions_identity(conn, total, sum(contribution_totals.get(s, 0) for s in selected), position,
                                everywhere),
    ]
    if store_ids is None:
        identities.append(_zero_sum_identity(conn))
    sale_total = sales.combine(sale_checks.values())
    identities.extend(sale_total.identities)

    codes = None if store_ids is None else [names[s][0] for s in selected if s in names]
    return Reconciliation(period, position, codes, total, merge_categories(by_category.values()), identities,
                          stores, sale_total.to_dict())


def tune_for_scans(conn: Connection) -> None:
    """Settings for this connection's report (they end with it).

    SQLite reads the indexes it scans through the OS page cache one page at a time: mapping the file and a
    larger page cache make the scans several times faster. PostgreSQL would spend more time compiling these
    one-off aggregates just in time than running them, and sorts a million rows on disk with the default
    work_mem: both are set for this transaction only."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA mmap_size = 4294967296")
        conn.exec_driver_sql("PRAGMA cache_size = -262144")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


# ------------------------------------------------------------------------------------------------ flows


def in_cut(position: Cut, dialect: str) -> Any:
    """The period's transfers. SQLite scans a long range faster through a narrow covering index than through
    the table's rowid range; `seq + 0` keeps its planner from choosing the rowid for such a range (PostgreSQL
    estimates the plain range right, and the expression would hide that from it)."""
    t = transfers
    if dialect == "sqlite" and position.hi - position.lo > position.head // 8:
        seq = t.c.seq + literal_column("0")
        return and_(seq > position.lo, seq <= position.hi)
    return and_(t.c.seq > position.lo, t.c.seq <= position.hi)


@dataclass
class _CodeSums:
    amount: int = 0
    net: int = 0  # what the transfers did to holders' accounts
    credited: int = 0  # into holders' accounts
    debited: int = 0  # out of holders' accounts
    count: int = 0


def _flows(conn: Connection, position: Cut, homes: dict[int, int | None], per_store: dict[int | None, Figures]
           ) -> None:
    """Adds the period's flows to each shop's figures, and the cross-shop terms.

    Two scans, one per side of the transfers, each grouped by shop, code and that side's account: the covering
    indexes (store_id, code, debit_account_id, ...) and (store_id, code, credit_account_id, ...) deliver the
    groups in order, so SQLite needs no sort. Whether an account is a holder's, and of which shop, is looked
    up per group (`homes`), not per transfer."""
    t = transfers
    sums: dict[tuple[int | None, str], _CodeSums] = defaultdict(_CodeSums)
    cross: dict[int | None, int] = defaultdict(int)
    for side, account_column, sign in (("debit", t.c.debit_account_id, -1), ("credit", t.c.credit_account_id, 1)):
        query = (select(t.c.store_id, t.c.code, account_column, func.count(), func.sum(t.c.amount))
                 .where(in_cut(position, conn.dialect.name))
                 .group_by(t.c.store_id, t.c.code, account_column))
        for store_id, code, account_id, count, amount in conn.execute(query):
            amount = int(amount)
            group = sums[(store_id, code)]
            if side == "debit":
                group.count += count
                group.amount += amount
            if account_id not in homes:
                continue  # a system account: the programme, the donation fund, a sink, the adjustments
            group.net += sign * amount
            if sign > 0:
                group.credited += amount
            else:
                group.debited += amount
            home = homes[account_id]
            if home != store_id:  # a holder of another shop (or of none) moved points at this one
                cross[home] += sign * amount
                cross[store_id] -= sign * amount
    for (store_id, code), group in sums.items():
        f = per_store.get(store_id)
        if f is None:
            continue
        f.transfers += group.count
        if code == VOLUNTEER_HOURS and group.net == group.amount:
            f.volunteer_hours += group.amount
        elif code == DONATION and group.net == group.amount:
            f.donation += group.amount
        elif code == REDEMPTION and group.net == -group.amount:
            f.redeemed += group.amount
        elif code == REVERSAL:
            f.reversed += group.amount
            f.reversals_net += group.net
        elif code == ADJUSTMENT:
            f.adjusted_net += group.net
            f.adjusted_in += group.credited
            f.adjusted_out += group.debited
        else:
            # An issue that did not credit a holder, a redemption that did not debit one: not what the codes
            # mean. Its effect on holders still counts, so the identity stays exact, and the auditor sees it.
            f.other_net += group.net
    for store_id, net in cross.items():
        if store_id in per_store:
            per_store[store_id].cross_shop_net += net
    # What the reversals reversed: few rows, read through the index by shop and code.
    original = transfers.alias("original")
    reversals = (
        select(t.c.store_id, original.c.code, func.sum(t.c.amount))
        .select_from(t.join(original, original.c.seq == t.c.reverses_seq))
        .where(t.c.reverses_seq > 0, t.c.seq > position.lo, t.c.seq <= position.hi)
        .group_by(t.c.store_id, original.c.code)
    )
    for store_id, code, amount in conn.execute(reversals):
        if store_id in per_store:
            by_code = per_store[store_id].reversed_by_code
            by_code[code] = by_code.get(code, 0) + int(amount)


# ------------------------------------------------------------------------------------------------ balances


def _period_balances(conn: Connection, holders: dict[int, journal.HolderAccount], position: Cut
                     ) -> tuple[dict[int, int], dict[int, int]]:
    """Each holder's balance at the start and at the end of the period, as the journal recorded it."""
    now = {account_id: account.journal_balance for account_id, account in holders.items()}
    cuts = [c for c in (position.lo, position.hi) if 0 < c < position.head]
    at_cut = journal.balances_at_cuts(conn, cuts, holders) if cuts else {}
    start = {account_id: 0 for account_id in holders} if position.lo == 0 else (
        now if position.lo >= position.head else at_cut[position.lo])
    end = now if position.hi >= position.head else ({account_id: 0 for account_id in holders}
                                                   if position.hi == 0 else at_cut[position.hi])
    return start, end


def _place_holders(per_store: dict[int | None, Figures], holders: dict[int, journal.HolderAccount],
                   start: dict[int, int], end: dict[int, int]) -> None:
    for account_id, account in holders.items():
        figures = per_store.get(account.store_id)
        if figures is None:
            continue
        figures.outstanding_start += start[account_id]
        figures.outstanding += end[account_id]
        figures.members_balance_total += account.balance
        figures.journal_outstanding_now += account.journal_balance
        figures.holders += 1


# ------------------------------------------------------------------------------------------ contributions


def categories_by_store(conn: Connection, position: Cut, store_ids: list[int | None] | None
                ) -> dict[int | None, list[CategoryLine]]:
    """Points issued by activity category (and donations by kind), from the contributions whose approval
    posted a transfer in the period, less the reversals of such transfers in the period."""
    c = contributions
    issued = (
        select(c.c.store_id, c.c.category_id, c.c.kind, func.count(), func.sum(c.c.points))
        .where(c.c.transfer_seq > position.lo, c.c.transfer_seq <= position.hi)
        .group_by(c.c.store_id, c.c.category_id, c.c.kind)
    )
    r = transfers
    taken_back = (
        select(c.c.store_id, c.c.category_id, c.c.kind, -func.count(), -func.sum(r.c.amount))
        .select_from(r.join(c, c.c.transfer_seq == r.c.reverses_seq))
        .where(r.c.reverses_seq > 0, r.c.seq > position.lo, r.c.seq <= position.hi)
        .group_by(c.c.store_id, c.c.category_id, c.c.kind)
    )
    if store_ids is not None:
        issued = issued.where(journal.store_filter(c.c.store_id, store_ids))
        taken_back = taken_back.where(journal.store_filter(c.c.store_id, store_ids))
    names = {row.id: (row.name_zh, row.name_en) for row in conn.execute(
        select(categories.c.id, categories.c.name_zh, categories.c.name_en))}
    lines: dict[int | None, dict[tuple[int | None, str], CategoryLine]] = defaultdict(dict)
    for query in (issued, taken_back):
        for store_id, category_id, kind, count, points in conn.execute(query):
            key = (category_id, kind)
            line = lines[store_id].get(key)
            if line is None:
                zh, en = names.get(category_id, ("", "")) if category_id is not None else ("", "")
                line = lines[store_id][key] = CategoryLine(category_id, kind, zh, en)
            line.points += int(points)
            line.count += int(count)
    return {store_id: sorted(by_key.values(), key=lambda x: (-x.points, x.kind, x.category_id or 0))
            for store_id, by_key in lines.items()}


def merge_categories(groups: Iterable[list[CategoryLine]]) -> list[CategoryLine]:
    merged: dict[tuple[int | None, str], CategoryLine] = {}
    for lines in groups:
        for line in lines:
            key = (line.category_id, line.kind)
            target = merged.get(key)
            if target is None:
                target = merged[key] = CategoryLine(line.category_id, line.kind, line.name_zh, line.name_en)
            target.points += line.points
            target.count += line.count
    return sorted(merged.values(), key=lambda x: (-x.points, x.kind, x.category_id or 0))


# ------------------------------------------------------------------------------------------------ identities


def _flows_identity(conn: Connection, f: Figures, position: Cut, store_ids: set[int | None],
                    holders: dict[int, journal.HolderAccount], start: dict[int, int], end: dict[int, int]
                    ) -> Identity:
    identity = Identity(
        "flows", f.flows_net + f.cross_shop_net, f.outstanding - f.outstanding_start,
        terms={"issued": f.issued, "redeemed": f.redeemed, "reversals_net": f.reversals_net,
               "adjusted_net": f.adjusted_net, "other_net": f.other_net, "cross_shop_net": f.cross_shop_net,
               "outstanding_start": f.outstanding_start, "outstanding_end": f.outstanding})
    if not identity.ok:
        mine = {a: h for a, h in holders.items() if h.store_id in store_ids}
        nets = journal.holder_nets(conn, position, list(mine))
        bad = sorted(a for a in mine if nets.get(a, 0) != end[a] - start[a])
        identity.accounts = bad
        identity.transfers = _walk_accounts(conn, bad[:MAX_ACCOUNTS_WALKED], position)
        identity.detail, identity.detail_params = "accounts_disagree", {"count": len(bad)}
    return identity


def _walk_accounts(conn: Connection, account_ids: list[int], position: Cut) -> list[int]:
    """The transfers where an account's recorded balance stops following from its amounts (from the entry
    before the period on); the account's transfers in the period when no single one breaks."""
    found: list[int] = []
    for account_id in account_ids:
        entries = journal.account_entries(conn, account_id, after_seq=position.lo)
        previous: int | None = None
        broken = []
        period_seqs = []
        for _version, seq, signed, after in entries:
            if seq > position.lo:
                period_seqs.append(seq)
                if previous is not None and after != previous + signed:
                    broken.append(seq)
            previous = after
        found.extend(broken or period_seqs[:10])
    return sorted(set(found))[:MAX_LISTED]


def _cached_identity(f: Figures, bad: list[int], holders: dict[int, journal.HolderAccount]) -> Identity:
    identity = Identity("cached_balances", f.members_balance_total, f.journal_outstanding_now,
                        terms={"members_balance_total": f.members_balance_total,
                               "journal_outstanding_now": f.journal_outstanding_now, "holders": f.holders})
    if bad:
        identity.rows_disagree = True
        identity.accounts = bad
        identity.transfers = sorted({holders[a].last_seq for a in bad if holders[a].last_seq is not None})
        identity.detail, identity.detail_params = "cached_disagree", {"count": len(bad)}
    return identity


def _zero_sum_identity(conn: Connection) -> Identity:
    total = int(conn.execute(select(func.coalesce(func.sum(accounts.c.balance), 0))).scalar_one())
    return Identity("zero_sum", total, 0, terms={"cached_balances_sum": total})


def _contributions_identity(conn: Connection, f: Figures, approved: int, position: Cut,
                            store_ids: set[int | None]) -> Identity:
    reversed_issues = sum(f.reversed_by_code.get(code, 0) for code in ISSUE_CODES)
    identity = Identity("issued_contributions", f.issued - reversed_issues, approved,
                        terms={"issued": f.issued, "reversed_issues": reversed_issues,
                               "approved_contributions": approved})
    if not identity.ok:
        identity.transfers = _unmatched_issues(conn, position, store_ids)
        identity.detail = "unmatched_issues"
    return identity


def _unmatched_issues(conn: Connection, position: Cut, store_ids: set[int | None]) -> list[int]:
    t, c = transfers, contributions
    in_period = and_(t.c.seq > position.lo, t.c.seq <= position.hi)
    where_store = journal.store_filter(t.c.store_id, list(store_ids))
    orphans = (select(t.c.seq).select_from(t.outerjoin(c, c.c.transfer_seq == t.c.seq))
               .where(in_period, where_store, t.c.code.in_(ISSUE_CODES),
                      (c.c.id.is_(None)) | (c.c.points != t.c.amount) | (c.c.store_id != t.c.store_id))
               .order_by(t.c.seq).limit(MAX_LISTED))
    strays = (select(c.c.transfer_seq).select_from(c.join(t, t.c.seq == c.c.transfer_seq))
              .where(in_period, where_store, t.c.code.notin_(ISSUE_CODES)).order_by(c.c.transfer_seq)
              .limit(MAX_LISTED))
    return sorted({int(s) for s in conn.execute(orphans).scalars()} | {int(s) for s in conn.execute(strays).scalars()})
