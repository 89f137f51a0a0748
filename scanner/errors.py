"""The scanner's named errors, each one readable line."""


class ScannerError(Exception):
    """Base of every error that stops a scan."""


class ServerRefused(ScannerError):
    """The match API answered with an error that a retry cannot fix (bad key, bad items)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"server refused the request (HTTP {status}): {detail}")


class ServerUnavailable(ScannerError):
    """The match API could not be reached, or kept failing, after every retry."""


class StateFileError(ScannerError):
    """A state file that cannot serve this scan: it cannot be opened, is not a state file, or was written
    by a scan with other settings (root, server, hash types, variants)."""
