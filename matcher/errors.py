"""The matcher's named errors: each says which value was wrong and why."""

from collections.abc import Sequence


class MatcherError(Exception):
    """Base of every error the matcher raises on bad input."""


class UnknownHashType(MatcherError, LookupError):
    """A hash type name that is not in the registry."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown hash type {name!r}: expected one of {', '.join(self.known)}")


class InvalidHash(MatcherError, ValueError):
    """One malformed hash value; ``index`` is its position in a batch, if it came in one."""

    def __init__(self, hash_type: str, value: object, reason: str, index: int | None = None) -> None:
        self.hash_type = hash_type
        self.value = value
        self.reason = reason
        self.index = index
        where = "" if index is None else f"item {index}: "
        super().__init__(f"{where}invalid {hash_type} hash {_shorten(value)}: {reason}")


class InvalidHashes(MatcherError, ValueError):
    """Every malformed value of a batch, in input order."""

    def __init__(self, errors: Sequence[InvalidHash]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{first}{more}")


class InvalidThreshold(MatcherError, ValueError):
    """A threshold outside what a hash type (or index) supports."""

    def __init__(self, hash_type: str, threshold: object, maximum: int, *, required: bool = False) -> None:
        self.hash_type = hash_type
        self.threshold = threshold
        self.maximum = maximum
        self.required = required
        super().__init__(
            f"no threshold for {hash_type}: no default is published, the list's owner sets it "
            f"(an integer from 0 to {maximum})"
            if required
            else f"invalid threshold {threshold!r} for {hash_type}: expected an integer from 0 to {maximum}"
        )


class IndexFileError(MatcherError, OSError):
    """An index directory that is missing, incomplete or of an unknown format."""


def _shorten(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
