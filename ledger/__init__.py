"""Points: accounts, the append-only journal, members and cards."""
