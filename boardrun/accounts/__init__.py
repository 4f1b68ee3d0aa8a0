"""Accounts: users, passwords, access and refresh tokens, login throttling."""
