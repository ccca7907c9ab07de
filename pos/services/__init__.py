"""Use cases that span packages (ledger and inventory together), each in the caller's one transaction."""
