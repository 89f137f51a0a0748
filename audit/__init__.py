"""The append-only, hash-chained audit log: every match call, notice change and key use."""

from audit.log import GENESIS, Verification, append, records, verify

__all__ = ["GENESIS", "Verification", "append", "records", "verify"]
