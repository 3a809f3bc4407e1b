"""Operator commands that act on the whole system (backup and restore)."""
