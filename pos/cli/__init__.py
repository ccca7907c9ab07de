"""The `creditmart` console script. Each module adds its own command group to `main`."""

from __future__ import annotations

import importlib

import click

# One module a line: parallel work adds its own line (merged with git's union driver, see .gitattributes).
COMMAND_MODULES = (
    "pos.cli.database",
    "pos.cli.server",
    "pos.cli.users",
    "pos.cli.inventory",
    "pos.cli.printing",
    "pos.cli.members",
    "pos.cli.ledger",
    "pos.cli.bureau",
)


@click.group()
def main() -> None:
    """creditmart: point of sale and points ledger for village credit supermarkets."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(main)
