"""Apps, their members and roles, and their boards and board versions."""
