"""The signed-in user's own record and profiles."""
