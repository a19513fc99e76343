"""Confirmation emails: rendering, delivery over SMTP and the local outbox."""
