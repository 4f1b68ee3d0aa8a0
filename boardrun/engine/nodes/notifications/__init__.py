"""Nodes of the Notifications category: messages meant for users, emitted as run events."""
