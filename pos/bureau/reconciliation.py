"""Reconciliation (对账): where points came from and went, for any period and any set of shops, and the
identities that prove the books whole.

The ledger is the source of truth. Everything is read with a handful of aggregate queries (GROUP BY in the
database; no transfer is loaded into Python for a total), over the journal cut at two seqs (`periods.Cut`):

1. *flows* — one pass over the period's transfers, grouped by shop, code and (for a reversal) the code of
   the transfer it reverses: issued (volunteer_hours, donation), redeemed, reversed, adjusted, each with what
   it did to holders' accounts. A transfer counts for the shop it happened at (`store_id`).
2. *holders* — one pass over the transfers from the period's start to the head, grouped by holder account and
   shop: each holder's net movement in the period, and the versions of its first entry in the period and
   after it. With the balances the journal itself records (each entry's balance after, looked up through the
   statement indexes) this gives every holder's balance at the start and at the end of the period, without
   trusting the amounts. What members hold counts for their home shop.
3. *accounts* — every holder account of the shops with its cached balance and the journal's balance after
   its last entry.
4. *contributions* and *categories* — the earning records behind the issued points (through the transfer
   a contribution's approval posted), for the breakdown by activity category.
5. *sales* — the ledger against the shop's stock: redemption transfers against the goods that left the
   shop through sales (`pos.bureau.sales`).

The identities (each with the transfers behind it when it fails):
- `flows`: issued − redeemed + reversals ± adjustments (+ what the shops' members did at other shops, − what
  other shops' members did here) = outstanding at the end − outstanding at the start. The left side adds
  amounts, the right side reads the balances the journal recorded: a changed amount or balance shows.
- `cached_balances`: the balances cached on the accounts = the balances after their last entries.
- `zero_sum` (all shops only): every account's cached balance sums to zero.
- `issued_contributions`: the points issued = the points of the contributions approved in the period.
- `redeemed_goods` and `goods_stock` (`pos.bureau.sales`): the points redeemed at a shop = the points value of
  the goods that left its stock through sales.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, case, func, select
from sqlalchemy.orm import Session

from ledger.earning import ActivityCategory, Contribution
from ledger.models import ADJUSTMENT, DONATION, REDEMPTION, REVERSAL, VOLUNTEER_HOURS, Account
from pos.bureau import journal, sales
from pos.bureau.identity import MAX_LISTED, Identity
from pos.bureau.journal import Sides, transfers
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
    other_net: int = 0  # holder movements of no recognised code (none in a sound journal)
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
    names = journal.store_names(conn)
    selected: list[int | None] = list(names) + [NO_STORE] if store_ids is None else list(dict.fromkeys(store_ids))
    position = cut(conn, period)
    classify = journal.sides(conn)

    per_store = {s: Figures() for s in selected}
    flows_by_store = _flows(conn, classify, position, None if store_ids is None else selected)
    for store_id, figures in flows_by_store.items():
        if store_id in per_store:
            per_store[store_id].add(figures)
    holders = journal.holder_accounts(conn, None if store_ids is None else selected)
    movements = _holder_movements(conn, classify, position, None if store_ids is None else selected)
    balances = _period_balances(conn, holders, movements)
    flows_problems = _place_holders(per_store, holders, movements, balances)
    _cross_shop(per_store, movements, holders, flows_by_store)

    categories = _categories(conn, position, None if store_ids is None else selected)
    contribution_totals = _contribution_totals(categories)
    ledger_sales = {s: (per_store[s].redeemed, per_store[s].reversed_by_code.get(REDEMPTION, 0))
                    for s in selected if s is not None}
    sale_checks = sales.reconcile_sales(conn, position, ledger_sales)

    stores: list[StoreReport] = []
    for store_id in selected:
        figures = per_store[store_id]
        if store_id is NO_STORE and figures == Figures():
            continue
        code, name = names.get(store_id, (None, None)) if store_id is not None else (None, None)
        ids = [
            _flows_identity(conn, figures, flows_problems, position, {store_id}, holders),
            _cached_identity(figures, holders, {store_id}),
            _contributions_identity(conn, figures, contribution_totals.get(store_id, 0), position, {store_id}),
        ]
        store_sales = sale_checks.get(store_id)
        if store_sales is not None:
            ids.extend(store_sales.identities)
        stores.append(StoreReport(store_id, code, name, figures, categories.get(store_id, []), ids,
                                  store_sales.to_dict() if store_sales is not None else {}))

    total = Figures()
    for figures in per_store.values():
        total.add(figures)
    everywhere = set(selected)
    identities = [
        _flows_identity(conn, total, flows_problems, position, everywhere, holders),
        _cached_identity(total, holders, everywhere),
        _contributions_identity(conn, total, sum(contribution_totals.get(s, 0) for s in selected), position,
                                everywhere),
    ]
    if store_ids is None:
        identities.append(_zero_sum_identity(conn))
    sale_identities = sales.combine([c for c in sale_checks.values()])
    identities.extend(sale_identities.identities)

    codes = None if store_ids is None else [names[s][0] for s in selected if s in names]
    return Reconciliation(period, position, codes, total, _merge_categories(categories.values()), identities,
                          stores, sale_identities.to_dict())


# ------------------------------------------------------------------------------------------------ pass 1: flows


def _flows(conn: Connection, classify: Sides, position: Cut, store_ids: list[int | None] | None
           ) -> dict[int | None, Figures]:
    t = transfers
    original = transfers.alias("original")
    reversed_code = case((t.c.code == REVERSAL,
                          select(original.c.code).where(original.c.seq == t.c.reverses_seq).scalar_subquery()),
                         else_=None)
    effect = classify.holder_effect()
    query = (
        select(t.c.store_id, t.c.code, reversed_code.label("reversed_code"), func.count(), func.sum(t.c.amount),
               func.sum(effect), func.sum(case((effect > 0, effect), else_=0)),
               func.sum(case((effect < 0, -effect), else_=0)))
        .where(t.c.seq > position.lo, t.c.seq <= position.hi)
        .group_by(t.c.store_id, t.c.code, reversed_code)
        .with_hint(t, "INDEXED BY ix_ledger_transfers_bureau_flows", "sqlite")
    )
    if store_ids is not None:
        query = query.where(journal.store_filter(t.c.store_id, store_ids))
    out: dict[int | None, Figures] = defaultdict(Figures)
    for store_id, code, reversed_from, count, amount, net, credited, debited in conn.execute(query):
        f = out[store_id]
        amount, net, credited, debited = int(amount), int(net), int(credited), int(debited)
        f.transfers += count
        if code == VOLUNTEER_HOURS and net == amount:
            f.volunteer_hours += amount
        elif code == DONATION and net == amount:
            f.donation += amount
        elif code == REDEMPTION and net == -amount:
            f.redeemed += amount
        elif code == REVERSAL:
            f.reversed += amount
            f.reversals_net += net
            key = reversed_from or "unknown"
            f.reversed_by_code[key] = f.reversed_by_code.get(key, 0) + amount
        elif code == ADJUSTMENT:
            f.adjusted_net += net
            f.adjusted_in += credited
            f.adjusted_out += debited
        else:
            # An issue that did not credit a holder, a redemption that did not debit one: not what the codes
            # mean. Its effect on holders still counts, so the identity stays exact, and the auditor sees it.
            f.other_net += net
    return out


# ------------------------------------------------------------------------------------------ pass 2: holders


@dataclass
class HolderMovement:
    net_by_store: dict[int | None, int] = field(default_factory=dict)  # by the shop the transfer happened at
    first_version_in_period: int | None = None
    first_version_after: int | None = None

    @property
    def net(self) -> int:
        return sum(self.net_by_store.values())


def _holder_movements(conn: Connection, classify: Sides, position: Cut, home_store_ids: list[int | None] | None
                      ) -> dict[int, HolderMovement]:
    t = transfers
    in_period = t.c.seq <= position.hi

    def grouped(holder: Any, version: Any, signed: Any, extra: Any = None) -> Any:
        query = (
            select(holder.label("holder"), t.c.store_id,
                   func.sum(case((in_period, signed), else_=0)),
                   func.min(case((in_period, version), else_=None)),
                   func.min(case((t.c.seq > position.hi, version), else_=None)),
                   func.sum(case((classify.both_holders(), 1), else_=0)))
            .where(t.c.seq > position.lo, t.c.seq <= position.head)
            .group_by(holder, t.c.store_id)
        )
        if extra is not None:
            query = query.where(extra)
        if home_store_ids is not None:
            homes = select(accounts.c.id).where(journal.store_filter(accounts.c.store_id, home_store_ids))
            query = query.where(holder.in_(homes))
        return query

    out: dict[int, HolderMovement] = {}
    both = 0

    def take(rows: Iterable[Any]) -> int:
        found = 0
        for holder, store_id, net, first_in, first_after, both_count in rows:
            if holder is None:
                continue
            m = out.setdefault(holder, HolderMovement())
            m.net_by_store[store_id] = m.net_by_store.get(store_id, 0) + int(net)
            if first_in is not None:
                m.first_version_in_period = _min(m.first_version_in_period, int(first_in))
            if first_after is not None:
                m.first_version_after = _min(m.first_version_after, int(first_after))
            found += int(both_count)
        return found

    both = take(conn.execute(grouped(classify.holder(), classify.holder_version(), classify.holder_signed())))
    if both:
        # Transfers between two holders (no use case makes them; an adjustment tool might): the pass above
        # counted their debit side, this one their credit side.
        take(conn.execute(grouped(t.c.credit_account_id, t.c.credit_version, t.c.amount, classify.both_holders())))
    return out


def _min(a: int | None, b: int) -> int:
    return b if a is None or b < a else a


@dataclass
class HolderBalances:
    start: dict[int, int]
    end: dict[int, int]


def _period_balances(conn: Connection, holders: dict[int, journal.HolderAccount],
                     movements: dict[int, HolderMovement]) -> HolderBalances:
    """Each holder's balance at the start and at the end of the period, as the journal recorded it: the
    balance after the entry just before the period (or just before the first entry after it)."""
    wanted: list[tuple[int, int]] = []
    for account_id, m in movements.items():
        for version in (m.first_version_in_period, m.first_version_after):
            if version is not None and version > 1:
                wanted.append((account_id, version - 1))
    recorded = journal.balances_at(conn, wanted)
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for account_id, account in holders.items():
        m = movements.get(account_id)
        if m is None or m.first_version_after is None:
            end[account_id] = account.journal_balance
        else:
            end[account_id] = _recorded(recorded, account_id, m.first_version_after)
        if m is None or m.first_version_in_period is None:
            start[account_id] = end[account_id]
        else:
            start[account_id] = _recorded(recorded, account_id, m.first_version_in_period)
    return HolderBalances(start, end)


def _recorded(recorded: dict[tuple[int, int], int], account_id: int, first_version: int) -> int:
    if first_version <= 1:
        return 0
    # A missing entry (a gap, which verify reports) counts as zero here; the identity will not hold.
    return recorded.get((account_id, first_version - 1), 0)


def _place_holders(per_store: dict[int | None, Figures], holders: dict[int, journal.HolderAccount],
                   movements: dict[int, HolderMovement], balances: HolderBalances) -> dict[int, int]:
    """Adds each holder's balances to its home shop; returns the holders whose movements in the period do not
    add up to the change of their recorded balance (account → difference)."""
    problems: dict[int, int] = {}
    for account_id, account in holders.items():
        figures = per_store.get(account.store_id)
        if figures is None:
            continue
        figures.outstanding_start += balances.start[account_id]
        figures.outstanding += balances.end[account_id]
        figures.members_balance_total += account.balance
        figures.journal_outstanding_now += account.journal_balance
        figures.holders += 1
        m = movements.get(account_id)
        net = m.net if m is not None else 0
        change = balances.end[account_id] - balances.start[account_id]
        if net != change:
            problems[account_id] = net - change
    return problems


def _cross_shop(per_store: dict[int | None, Figures], movements: dict[int, HolderMovement],
                holders: dict[int, journal.HolderAccount], flows_by_store: dict[int | None, Figures]) -> None:
    """What each shop's members did at other shops (+), less what other shops' members did here (-): the
    term that takes the shop's flows (counted where transfers happened) to its members' balances (counted
    at home)."""
    home_here: dict[int | None, int] = defaultdict(int)  # holders of shop s, transfers at s
    home_elsewhere: dict[int | None, int] = defaultdict(int)  # holders of shop s, transfers at other shops
    for account_id, m in movements.items():
        account = holders.get(account_id)
        if account is None:
            continue
        for store_id, net in m.net_by_store.items():
            if store_id == account.store_id:
                home_here[account.store_id] += net
            else:
                home_elsewhere[account.store_id] += net
    for store_id, figures in per_store.items():
        flows_here = flows_by_store[store_id].flows_net if store_id in flows_by_store else 0
        visitors_here = flows_here - home_here[store_id]
        figures.cross_shop_net = home_elsewhere[store_id] - visitors_here


# ------------------------------------------------------------------------------------------ contributions


def _categories(conn: Connection, position: Cut, store_ids: list[int | None] | None
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
        .where(r.c.code == REVERSAL, r.c.seq > position.lo, r.c.seq <= position.hi)
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


def _contribution_totals(categories: dict[int | None, list[CategoryLine]]) -> dict[int | None, int]:
    return {store_id: sum(line.points for line in lines) for store_id, lines in categories.items()}


def _merge_categories(groups: Iterable[list[CategoryLine]]) -> list[CategoryLine]:
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


def _flows_identity(conn: Connection, f: Figures, problems: dict[int, int], position: Cut,
                    store_ids: set[int | None], holders: dict[int, journal.HolderAccount]) -> Identity:
    identity = Identity(
        "flows", f.flows_net + f.cross_shop_net, f.outstanding - f.outstanding_start,
        terms={"issued": f.issued, "redeemed": f.redeemed, "reversals_net": f.reversals_net,
               "adjusted_net": f.adjusted_net, "other_net": f.other_net, "cross_shop_net": f.cross_shop_net,
               "outstanding_start": f.outstanding_start, "outstanding_end": f.outstanding})
    bad = sorted(a for a in problems if holders[a].store_id in store_ids)
    if bad:
        identity.rows_disagree = True
        identity.accounts = bad
        identity.transfers = _walk_accounts(conn, bad[:MAX_ACCOUNTS_WALKED], position)
        identity.detail = f"{len(bad)} accounts' movements do not add up to their recorded balances"
    return identity


def _walk_accounts(conn: Connection, account_ids: list[int], position: Cut) -> list[int]:
    """The transfers where an account's recorded balance stops following from its amounts (from the entry
    before the period on); the account's transfers in the period when no single one breaks."""
    found: list[int] = []
    t = transfers
    for account_id in account_ids:
        first = conn.execute(
            select(func.min(case((t.c.debit_account_id == account_id, t.c.debit_version),
                                 else_=t.c.credit_version)))
            .where(t.c.seq > position.lo,
                   (t.c.debit_account_id == account_id) | (t.c.credit_account_id == account_id))
        ).scalar()
        if first is None:
            continue
        entries = journal.account_entries(conn, account_id, from_version=max(1, first - 1))
        previous: int | None = 0 if first == 1 else None
        broken = []
        for version, seq, signed, after in entries:
            if version < first:
                previous = after
                continue
            if previous is not None and after != previous + signed:
                broken.append(seq)
            previous = after
        found.extend(broken or [seq for version, seq, _, _ in entries if version >= first][:10])
    return sorted(set(found))[:MAX_LISTED]


def _cached_identity(f: Figures, holders: dict[int, journal.HolderAccount], store_ids: set[int | None]
                     ) -> Identity:
    identity = Identity("cached_balances", f.members_balance_total, f.journal_outstanding_now,
                        terms={"members_balance_total": f.members_balance_total,
                               "journal_outstanding_now": f.journal_outstanding_now, "holders": f.holders})
    bad = sorted(a.id for a in holders.values() if a.store_id in store_ids and not a.agrees)
    if bad:
        identity.rows_disagree = True
        identity.accounts = bad
        identity.transfers = sorted({holders[a].last_seq for a in bad if holders[a].last_seq is not None})
        identity.detail = f"{len(bad)} accounts cache another balance than their last entry records"
    return identity


def _zero_sum_identity(conn: Connection) -> Identity:
    total = int(conn.execute(select(func.coalesce(func.sum(accounts.c.balance), 0))).scalar_one())
    return Identity("zero_sum", total, 0, terms={"cached_balances_sum": total})


def _contributions_identity(conn: Connection, f: Figures, approved: int, position: Cut,
                            store_ids: set[int | None]) -> Identity:
    identity = Identity("issued_contributions", f.issued - _reversed_issues(f), approved,
                        terms={"issued": f.issued, "reversed_issues": _reversed_issues(f),
                               "approved_contributions": approved})
    if not identity.ok:
        identity.transfers = _unmatched_issues(conn, position, store_ids)
        identity.detail = "issued points without a matching approved contribution, or the other way round"
    return identity


def _reversed_issues(f: Figures) -> int:
    return sum(f.reversed_by_code.get(code, 0) for code in ISSUE_CODES)


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
