"""What every command shares: the one-line error, opening files or standard input, the database.

Every command module imports only the standard library at its top and what a command needs when it runs,
so that ``hashmatch --help`` or ``hashmatch types`` never pays for SQLAlchemy, FAISS, numba or FastAPI
(``tests/test_cli_startup.py`` checks which modules each command loads).
"""

import argparse
import errno
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from config import Settings
    from indexer.listfile import LineError

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The parser's sub-command registry, passed to each command module's ``register``."""


class CommandError(Exception):
    """A failure to report in one line."""


def open_binary(name: str) -> AbstractContextManager[BinaryIO]:
    """A file to read as bytes (list readers decode it strictly, line by line), or standard input for '-'."""
    if name == "-":
        return nullcontext(sys.stdin.buffer)
    return open(name, "rb")


def describe_os_error(error: OSError) -> str:
    """A file system error in words: the file, what is wrong and what to do, never ``[Errno 2] ...``."""
    advice = {
        errno.ENOENT: "no such file: check the path",
        errno.EACCES: "permission denied: check the file's permissions",
        errno.EPERM: "not permitted: check the file's permissions",
        errno.EISDIR: "is a directory: give a file",
        errno.ENOTDIR: "a part of the path is not a directory: check the path",
        errno.ENOSPC: "no space left on the device",
        errno.EEXIST: "already exists: choose another name",
    }
    what = advice.get(error.errno or 0) or (error.strerror or str(error)).lower()
    return f"{error.filename}: {what}" if error.filename else what


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``1 entry``, ``1,001 entries``, ``3 hashes``."""
    if count == 1:
        return f"1 {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count:,} {noun[:-1]}ies"
    if noun.endswith(("s", "sh", "ch", "x")):
        return f"{count:,} {noun}es"
    return f"{count:,} {noun}s"


def describe_errors(source: str, errors: "Sequence[LineError]") -> str:
    """The first bad line of a file, and how many more there are."""
    more = f" (and {plural(len(errors) - 1, 'more bad line')})" if len(errors) > 1 else ""
    return f"{source} {errors[0]}{more}"


@contextmanager
def open_database(settings: "Settings") -> "Iterator[sessionmaker[Session]]":
    """Sessions on the configured database, brought to the newest schema first; closed at the end.
    A database that cannot be reached or used ends the command with one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from db import make_engine, make_session_factory, upgrade
    from notices.sealing import sealer_from

    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(settings.effective_database_url)
    except SQLAlchemyError as error:
        raise CommandError(f"database URL: {error}") from None
    try:
        upgrade(engine, sealer=sealer_from(settings))
        yield make_session_factory(engine)
    except SQLAlchemyError as error:
        raise CommandError(f"database: {str(error).splitlines()[0]}") from None
    finally:
        engine.dispose()


def parse_thresholds(pairs: Sequence[str]) -> dict[str, int]:
    """``TYPE=N`` options as thresholds by type name, each checked against its type's maximum."""
    from matcher import get_hash_type

    thresholds: dict[str, int] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        hash_type = get_hash_type(name)
        try:
            number = int(value)
        except ValueError:
            raise CommandError(f"--threshold {pair!r}: expected TYPE=N with a whole number N") from None
        thresholds[hash_type.name] = hash_type.check_threshold(number)
    return thresholds
