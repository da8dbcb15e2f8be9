"""Append-only consent ledger, current-state view and signed receipts."""
