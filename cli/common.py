"""What every command shares: the one-line error, opening files or standard input."""

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import BinaryIO, TypeAlias

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from db import make_engine, make_session_factory, upgrade
from indexer.formats import LineError
from matcher import get_hash_type
from notices.webhooks import sealer_from

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The parser's sub-command registry, passed to each command module's ``register``."""


class CommandError(Exception):
    """A failure to report in one line."""


def open_binary(name: str) -> AbstractContextManager[BinaryIO]:
    """A file to read as bytes (list readers decode it strictly, line by line), or standard input for '-'."""
    if name == "-":
        return nullcontext(sys.stdin.buffer)
    return open(name, "rb")


def describe_errors(source: str, errors: Sequence[LineError]) -> str:
    """The first bad line of a file, and how many more there are."""
    more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
    return f"{source} {errors[0]}{more}"


@contextmanager
def open_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database, brought to the newest schema first; closed at the end.
    A database that cannot be reached or used ends the command with one line."""
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
