"""Health probes that check what they claim to check."""
