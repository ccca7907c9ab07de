"""The ledger against an in-memory oracle: random earnings, redemptions, linked batches, reversals, replays and
overdraft attempts. After every step the balances equal the oracle's, all balances sum to zero and verify passes.

Each example opens fresh member accounts in the same database; the journal and the system accounts carry over
from one example to the next (the oracle starts from what the database says), so verify also runs over a
journal that keeps growing through the run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.db import UnitOfWork
from ledger import (
    DONATION,
    VOLUNTEER_HOURS,
    AlreadyReversed,
    InsufficientPoints,
    NewTransfer,
    Posted,
    TransferConflict,
    post,
    post_batch,
    reverse,
)
from tests.test_ledger_support import balances_sum, open_book, verify_now

MEMBER = st.integers(0, 2)


@dataclass
class Request:
    """What a client sent, kept to send again: one transfer, a batch, or a reversal."""

    kind: str
    specs: list[NewTransfer]
    seqs: list[int]
    original: uuid.UUID | None = None  # the reversed transfer, for a reversal


class LedgerMachine(RuleBasedStateMachine):
    uow: UnitOfWork  # set by the test before the run

    def __init__(self) -> None:
        super().__init__()
        self.book = open_book(self.uow, members=3)
        b = self.book
        self.accounts = [b.programme, b.donation_fund, b.adjustments, b.sink, *b.members]
        self.oracle = {account: b.balance(account) for account in self.accounts}
        self.requests: list[Request] = []
        self.reversible: list[NewTransfer] = []
        self.reversed: set[uuid.UUID] = set()

    # --- the oracle ---

    def apply(self, specs: list[NewTransfer]) -> None:
        for spec in specs:
            self.oracle[spec.debit] -= spec.amount
            self.oracle[spec.credit] += spec.amount

    def first_overdraft(self, specs: list[NewTransfer]) -> tuple[NewTransfer, int] | None:
        balances = dict(self.oracle)
        for spec in specs:
            if spec.debit in self.book.members and balances[spec.debit] < spec.amount:
                return spec, spec.amount - balances[spec.debit]
            balances[spec.debit] -= spec.amount
            balances[spec.credit] += spec.amount
        return None

    def earn_spec(self, who: int, amount: int, code: str) -> NewTransfer:
        source = self.book.programme if code == VOLUNTEER_HOURS else self.book.donation_fund
        return NewTransfer(id=uuid.uuid4(), debit=source, credit=self.book.members[who], amount=amount, code=code,
                           ref=f"contribution:{uuid.uuid4()}", actor="manager-dsc", store_id=self.book.store_id)

    def submit(self, kind: str, specs: list[NewTransfer]) -> None:
        shortfall = self.first_overdraft(specs)
        if shortfall is not None:
            with pytest.raises(InsufficientPoints) as refused:
                self.send(kind, specs)
            assert refused.value.details["account_id"] == shortfall[0].debit
            assert refused.value.details["shortfall"] == shortfall[1]
            return
        posted = self.send(kind, specs)
        assert not any(p.replayed for p in posted)
        self.apply(specs)
        self.requests.append(Request(kind, specs, [p.seq for p in posted]))
        self.reversible.extend(specs)

    def send(self, kind: str, specs: list[NewTransfer]) -> list[Posted]:
        if kind == "one":
            return [self.uow.run(lambda s: post(s, specs[0]))]
        return self.uow.run(lambda s: post_batch(s, specs))

    # --- rules ---

    @rule(who=MEMBER, amount=st.integers(1, 60), code=st.sampled_from([VOLUNTEER_HOURS, DONATION]))
    def earn(self, who: int, amount: int, code: str) -> None:
        self.submit("one", [self.earn_spec(who, amount, code)])

    @rule(who=MEMBER, amount=st.integers(1, 80))
    def redeem(self, who: int, amount: int) -> None:
        self.submit("one", [self.book.spend_spec(self.book.members[who], amount)])

    @rule(moves=st.lists(st.tuples(MEMBER, st.integers(-50, 50).filter(bool)), min_size=1, max_size=5))
    def linked_batch(self, moves: list[tuple[int, int]]) -> None:
        specs = [self.earn_spec(who, amount, VOLUNTEER_HOURS) if amount > 0
                 else self.book.spend_spec(self.book.members[who], -amount) for who, amount in moves]
        self.submit("batch", specs)

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.requests))
        if request.kind == "reversal":
            spec = request.specs[0]
            posted = [self.uow.run(lambda s: reverse(s, request.original, id=spec.id, actor=spec.actor))]
        else:
            posted = self.send(request.kind, request.specs)
        assert [p.seq for p in posted] == request.seqs
        assert all(p.replayed for p in posted)

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def replay_with_other_content(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.requests))
        spec = request.specs[0]
        changed = NewTransfer(id=spec.id, debit=spec.debit, credit=spec.credit, amount=spec.amount + 1,
                              code=spec.code, ref=spec.ref, actor=spec.actor, store_id=spec.store_id,
                              reverses=spec.reverses)
        with pytest.raises(TransferConflict):
            self.uow.run(lambda s: post(s, changed))

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse_one(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(self.reversible))
        reversal_id = uuid.uuid4()
        mirrored = NewTransfer(id=reversal_id, debit=original.credit, credit=original.debit,
                               amount=original.amount, code="reversal", ref=original.ref, actor="manager-dsc",
                               store_id=original.store_id, reverses=1)

        def undo() -> Posted:
            return self.uow.run(lambda s: reverse(s, original.id, id=reversal_id, actor="manager-dsc"))

        if original.id in self.reversed:
            with pytest.raises(AlreadyReversed):
                undo()
            return
        if self.first_overdraft([mirrored]) is not None:
            with pytest.raises(InsufficientPoints):
                undo()
            return
        posted = undo()
        assert (posted.debit, posted.credit, posted.amount) == (original.credit, original.debit, original.amount)
        self.apply([mirrored])
        self.reversed.add(original.id)
        self.requests.append(Request("reversal", [mirrored], [posted.seq], original=original.id))

    # --- after every step ---

    @invariant()
    def agrees_with_the_oracle(self) -> None:
        assert {account: self.book.balance(account) for account in self.accounts} == self.oracle
        assert balances_sum(self.uow) == 0
        report = verify_now(self.uow)
        assert report.ok, report.problems


def test_the_ledger_agrees_with_an_in_memory_oracle(uow: UnitOfWork) -> None:
    machine = type("BoundLedgerMachine", (LedgerMachine,), {"uow": uow})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow]))
