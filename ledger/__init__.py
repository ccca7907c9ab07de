"""The points ledger: accounts, the append-only hash-chained journal of transfers, verify and export.

Each transfer row carries its two entries (account, version after, balance after), so the journal is one
table; `models` explains why. Knows nothing of members, goods or Flask. Every function takes the caller's
SQLAlchemy Session and never commits: run them inside `core.db.UnitOfWork.run`. The public API:

- accounts: `open_account`, `programme_account`, `donation_fund_account`, `adjustments_account`,
  `redemption_sink`, `find_account`, `get_account`, `balance`
- posting: `NewTransfer`, `post`, `post_batch`, `reverse`, `reversal_of`, `get_transfer`,
  `get_transfer_by_seq`, `transfers_by_ref`, `reversal_for` → `Posted`
- reading: `statement` → `Statement`; `verify` → `Report`; `export_lines`, `write_export`,
  `check_export` (no database); `snapshot_session` for a consistent read
- errors: `InsufficientPoints`, `AlreadyReversed`, `NotReversible`, `TransferConflict`, `UnknownAccount`,
  `UnknownTransfer`, `AccountConflict`
"""

from ledger.accounts import (
    adjustments_account,
    balance,
    donation_fund_account,
    find_account,
    get_account,
    open_account,
    programme_account,
    redemption_sink,
)
from ledger.errors import (
    AccountConflict,
    AlreadyReversed,
    InsufficientPoints,
    NotReversible,
    TransferConflict,
    UnknownAccount,
    UnknownTransfer,
)
from ledger.export import check_export, export_lines, write_export
from ledger.models import (
    ADJUSTMENT,
    DONATION,
    MEMBER,
    ORGANISATION,
    REDEMPTION,
    REVERSAL,
    VOLUNTEER_HOURS,
    Account,
)
from ledger.posting import (
    NewTransfer,
    Posted,
    get_transfer,
    get_transfer_by_seq,
    post,
    post_batch,
    reversal_for,
    reversal_of,
    reverse,
    transfers_by_ref,
)
from ledger.statement import Statement, StatementEntry, statement
from ledger.verify import Problem, Report, journal_length, snapshot_session, verify

__all__ = [
    "ADJUSTMENT", "DONATION", "MEMBER", "ORGANISATION", "REDEMPTION", "REVERSAL", "VOLUNTEER_HOURS",
    "Account", "AccountConflict", "AlreadyReversed", "InsufficientPoints", "NewTransfer", "NotReversible",
    "Posted", "Problem", "Report", "Statement", "StatementEntry", "TransferConflict", "UnknownAccount",
    "UnknownTransfer", "adjustments_account", "balance", "check_export", "donation_fund_account",
    "export_lines", "find_account", "get_account", "get_transfer", "get_transfer_by_seq", "journal_length",
    "open_account", "post", "post_batch", "programme_account", "redemption_sink", "reversal_for",
    "reversal_of", "reverse", "snapshot_session", "statement", "transfers_by_ref", "verify", "write_export",
]
