"""The append-only, hash-chained audit log: every match call, notice change and key use."""
