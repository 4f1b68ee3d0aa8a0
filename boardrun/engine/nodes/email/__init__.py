"""Nodes of the Email categories (IMAP, SMTP and the accessors of fetched mails)."""
