"""Organisations' API keys: issued once, stored only as digests, revocable."""
