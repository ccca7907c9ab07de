"""NDJSON export of the journal, and checking an export with no database at all.

An export is UTF-8 text, one JSON object per line:

1. a header: ``{"format": "creditmart-ledger-export", "encoding": 1, "after_seq": A, "after_hash": "<hex>"}``
   (``after_hash`` is the hash of transfer A, or 64 zeros for a whole export);
2. one line per transfer after seq A, in seq order, with every hashed value (see `ledger.chain`) under the
   names ``seq, id, batch, at, code, debit, debit_version, debit_balance_after, credit, credit_version,
   credit_balance_after, amount, ref, actor, store_id, reverses`` plus ``prev_hash`` and ``hash`` in hex.
   Ids are shown hyphenated and ``at`` in ISO 8601 with a Z, as the HTTP API shows them; the checker turns
   them back into the hashed forms (32 hex digits; ``YYYY-MM-DD HH:MM:SS.ffffff``);
3. a trailer: ``{"end": {"seq": N, "hash": "<hex>", "transfers": n}}``. A file without it was cut short.

`check_export` recomputes the chain from ``after_hash`` and every balance from the lines alone (from zero for a
whole export; for an export after a seq, each account's first balance is taken as given). The chain proves the
file is the journal the database held only up to the last hash someone trusts: compare the trailer's hash
with one recorded elsewhere (the bureau's previous audit) to rule out a file rewritten from the start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.chain import ENCODING_VERSION, GENESIS_HASH, display_id, display_time, id_from_display, time_from_display
from ledger.errors import UnknownTransfer
from ledger.models import Transfer
from ledger.verify import Problems, Report, check_journal, journal_select, stream

FORMAT = "creditmart-ledger-export"
FIELDS = ("seq", "id", "batch", "at", "code", "debit", "debit_version", "debit_balance_after", "credit",
          "credit_version", "credit_balance_after", "amount", "ref", "actor", "store_id", "reverses")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
transfers = Transfer.__table__


@dataclass(frozen=True)
class ExportSummary:
    after_seq: int
    transfers: int
    last_seq: int
    last_hash: str


def export_lines(session: Session, after_seq: int = 0, *, summary: list[ExportSummary] | None = None
                 ) -> Iterator[str]:
    """The export as lines (each ending in a newline), streamed: the journal is never held in memory.
    Append an ExportSummary to `summary` at the end, if given."""
    conn = session.connection()
    dialect = conn.dialect.name
    if after_seq:
        stored = conn.execute(select(transfers.c.hash).where(transfers.c.seq == after_seq)).scalar_one_or_none()
        if stored is None:
            raise UnknownTransfer("there is no transfer to export after", seq=after_seq)
        after_hash = stored
    else:
        after_hash = GENESIS_HASH
    yield _dumps({"format": FORMAT, "encoding": ENCODING_VERSION, "after_seq": after_seq,
                  "after_hash": after_hash.hex()}) + "\n"
    count, last_seq, last_hash = 0, after_seq, after_hash
    for row in stream(conn, journal_select(dialect, after_seq)):
        values = list(row[:16])
        values[1] = display_id(values[1])
        if values[2] is not None:
            values[2] = display_id(values[2])
        values[3] = display_time(values[3])
        line = dict(zip(FIELDS, values, strict=True))
        line["prev_hash"] = row[16].hex()
        line["hash"] = row[17].hex()
        count, last_seq, last_hash = count + 1, row[0], row[17]
        yield _dumps(line) + "\n"
    yield _dumps({"end": {"seq": last_seq, "hash": last_hash.hex(), "transfers": count}}) + "\n"
    if summary is not None:
        summary.append(ExportSummary(after_seq, count, last_seq, last_hash.hex()))


def write_export(session: Session, out: IO[str], after_seq: int = 0,
                 progress: Callable[[int], None] | None = None) -> ExportSummary:
    summary: list[ExportSummary] = []
    for n, line in enumerate(export_lines(session, after_seq, summary=summary)):
        out.write(line)
        if progress is not None and n and n % 8192 == 0:
            progress(8192)
    return summary[0]


def check_export(source: str | Path | Iterable[str], *, max_problems: int = 100,
                 progress: Callable[[int], None] | None = None) -> Report:
    """Verify an export file (a path, or its lines) without any database; see the module docstring."""
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as fh:
            return _check_lines(fh, max_problems, progress)
    return _check_lines(source, max_problems, progress)


def _check_lines(lines: Iterable[str], max_problems: int, progress: Callable[[int], None] | None) -> Report:
    problems = Problems(max_problems)
    it = iter(lines)
    header = _read_header(it, problems)
    if header is None:
        return Report(problems=problems.sorted(), problem_count=problems.count)
    after_seq, after_hash = header
    trailer: list[dict[str, Any]] = []
    reader = _transfer_rows(it, problems, trailer, after_seq)
    tally = check_journal(reader, problems, start_seq=after_seq, start_hash=after_hash,
                          opening_known=after_seq == 0, progress=progress)
    last_hash = tally.last_hash or after_hash
    if not trailer:
        problems.add(tally.last_seq + 1, "truncated", f"the export ends after seq {tally.last_seq} without "
                                                      "its closing line: it was cut short")
    else:
        end = trailer[0]
        if end.get("seq") != tally.last_seq or end.get("transfers") != tally.count:
            first_missing = tally.last_seq + 1
            problems.add(first_missing, "truncated", f"the closing line says {end.get('transfers')} transfers up "
                                                     f"to seq {end.get('seq')}; the file has {tally.count} up to "
                                                     f"{tally.last_seq}")
        elif end.get("hash") != last_hash.hex():
            problems.add(tally.last_seq, "head_mismatch", "the closing line's hash is not the last transfer's")
    if after_seq == 0:
        total = sum(tally.balances.values())
        if total != 0:
            problems.add(None, "sum_not_zero", f"the balances after the last lines sum to {total}")
    return Report(transfers=tally.count, head_seq=tally.last_seq, head_hash=last_hash.hex(),
                  problems=problems.sorted(), problem_count=problems.count)


def _read_header(it: Iterator[str], problems: Problems) -> tuple[int, bytes] | None:
    first = next(it, None)
    try:
        header = json.loads(first) if first is not None else None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("not a creditmart ledger export")
        if header.get("encoding") != ENCODING_VERSION:
            raise ValueError(f"encoding version {header.get('encoding')!r} is not {ENCODING_VERSION}")
        after_seq, after_hash = header["after_seq"], bytes.fromhex(header["after_hash"])
        if type(after_seq) is not int or after_seq < 0 or len(after_hash) != 32:
            raise ValueError("after_seq or after_hash is not valid")
    except (ValueError, KeyError, TypeError) as exc:
        problems.add(None, "malformed", f"the first line is not an export header: {exc}")
        return None
    return after_seq, after_hash


def _transfer_rows(it: Iterator[str], problems: Problems, trailer: list[dict[str, Any]], after_seq: int
                   ) -> Iterator[tuple[Any, ...]]:
    last_seq = after_seq
    for line in it:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
            if trailer:
                raise ValueError("a line after the closing line")
            if "end" in obj and "seq" not in obj:
                if not isinstance(obj["end"], dict):
                    raise ValueError("the closing line has no end object")
                trailer.append(obj["end"])
                continue
            values = [obj[name] for name in FIELDS]
            values[1], values[2], values[3] = (id_from_display(values[1]), id_from_display(values[2]),
                                               time_from_display(values[3]))
            prev_hash, hash_ = bytes.fromhex(obj["prev_hash"]), bytes.fromhex(obj["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            problems.add(last_seq + 1, "malformed", f"the line after seq {last_seq} cannot be read: {exc}")
            continue
        if type(values[0]) is int:
            last_seq = values[0]
        yield (*values, prev_hash, hash_)
