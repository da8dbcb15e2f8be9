"""Hash-chained, append-only audit trail of every use of personal data and every admin action."""
