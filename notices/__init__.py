"""Takedown notices: created from matches, tracked through their lifecycle against a deadline."""
