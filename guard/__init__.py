"""What keeps every key within bounds: shared rate budgets and probing detection, with their state in the
database (shared by every worker and replica, kept across restarts)."""
