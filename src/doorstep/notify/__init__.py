"""Notifications: an outbox table and delivery adapters (SMTP e-mail, SMS, push)."""
