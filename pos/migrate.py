"""Alembic, driven from code: `creditmart db upgrade`, `creditmart db revision`, the demo and the tests all come
through here. The settings are migrations/alembic.ini's, the one Alembic's own command line reads too."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.script import ScriptDirectory

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"


def alembic_config(url: str, *, extra_version_dirs: Iterable[Path] = ()) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    extra = [str(Path(d).resolve()) for d in extra_version_dirs]
    if extra:
        cfg.set_main_option("version_locations", os.pathsep.join([str(VERSIONS_DIR), *extra]))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def next_revision_id(cfg: Config) -> str:
    """The migrations are numbered 0001, 0002, ...: one more than the highest number so far."""
    numbers = [int(rev.revision) for rev in ScriptDirectory.from_config(cfg).walk_revisions()
               if re.fullmatch(r"\d+", rev.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


@dataclass(frozen=True)
class NewRevision:
    path: Path
    empty: bool  # no operations: for autogenerate, the models and the database already agree


def revision(url: str, message: str, *, autogenerate: bool = False, version_dir: Path | None = None) -> NewRevision:
    """Write a new migration on top of head. With `autogenerate`, Alembic compares the database at `url` (which
    must be at head) with the models and writes the operations that would make them agree. `version_dir` puts
    the file somewhere other than migrations/versions (to look at it before moving it there)."""
    cfg = alembic_config(url, extra_version_dirs=[version_dir] if version_dir else [])
    empty: list[bool] = []

    def note_emptiness(_context: Any, _revision: Any, directives: list[MigrationScript]) -> None:
        empty.append(all(ops.is_empty() for ops in directives[0].upgrade_ops_list))

    script = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=next_revision_id(cfg),
                              version_path=str(Path(version_dir).resolve()) if version_dir else None,
                              process_revision_directives=note_emptiness)
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return NewRevision(Path(script.path), empty=empty == [True])
