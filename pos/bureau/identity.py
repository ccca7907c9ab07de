"""An identity of the books: two figures that must be equal, and what is behind it when they are not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 100  # transfers (and accounts) named per failing identity


@dataclass
class Identity:
    name: str
    left: int
    right: int
    terms: dict[str, int] = field(default_factory=dict)
    transfers: list[int] = field(default_factory=list)  # seqs behind a failure
    accounts: list[int] = field(default_factory=list)
    # What is behind a failure, as a message key (`bureau.detail.<detail>` in pos/i18n/bureau.py) and its values.
    detail: str = ""
    detail_params: dict[str, int] = field(default_factory=dict)
    # A failure found row by row even where the totals happen to agree (two errors cancelling out).
    rows_disagree: bool = False

    @property
    def ok(self) -> bool:
        return self.left == self.right and not self.rows_disagree

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "left": self.left, "right": self.right,
                "difference": self.left - self.right, "terms": self.terms,
                "transfers": self.transfers[:MAX_LISTED], "accounts": self.accounts[:MAX_LISTED],
                "detail": self.detail, "detail_params": self.detail_params}
