"""The append-only, hash-chained audit log: every match call, notice change and key use."""

from audit.log import GENESIS, AuditEntry, Verification, append, append_many, records, verify
from audit.writer import AuditWriter

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditWriter",
    "Verification",
    "append",
    "append_many",
    "records",
    "verify",
]
