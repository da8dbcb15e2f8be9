"""Subscriber accounts: sign-up, verification, sign-in, third-party sign-in, children, deregistration."""
