"""Use cases that span packages (ledger, inventory, printers); each owns its transaction."""
