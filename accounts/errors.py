"""The named errors of accounts: each says what was wrong in one sentence."""


class AccountError(Exception):
    """Base of every error about organisations and keys."""


class InvalidKey(AccountError):
    """A presented API key that is missing, malformed, unknown or revoked (deliberately not saying which)."""


class InvalidRole(AccountError, ValueError):
    def __init__(self, role: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown role {role!r}: expected one of {', '.join(known)}")


class DuplicateName(AccountError, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an organisation called {name!r} already exists")


class UnknownOrganisation(AccountError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no organisation called {name!r}")


class UnknownKey(AccountError, LookupError):
    def __init__(self, prefix: str) -> None:
        super().__init__(f"no API key with prefix {prefix!r}")
