"""Operator staff: least-privilege roles; every staff read of personal data is gated, audited."""
