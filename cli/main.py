"""``hashmatch``: the command line over the project's core.

Each command module adds its sub-commands through ``register``. Every failure ends with one readable
line on standard error and a non-zero exit code, never a traceback.
"""

import argparse
import importlib.metadata
import sys
from collections.abc import Sequence

from cli import accounts, audit, demo, files, hashing, lists, notices, probing, scanning, serve
from cli.common import CommandError, describe_os_error

EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130
COMMAND_MODULES = (files, lists, hashing, scanning, accounts, audit, notices, probing, serve, demo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except OSError as error:
        print(f"hashmatch: error: {describe_os_error(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hashmatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if not isinstance(error, _reported_errors()):
            raise
        print(f"hashmatch: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _reported_errors() -> tuple[type[Exception], ...]:
    """The named errors of the layers below, each already one readable line (imported only on failure)."""
    from config import InvalidSettings
    from indexer.errors import ListsError
    from matcher.errors import MatcherError
    from notices.errors import NoticeError

    return CommandError, InvalidSettings, ListsError, MatcherError, NoticeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hashmatch", description="Exact matching against hash lists.")
    version = importlib.metadata.version("hashmatch")
    parser.add_argument("--version", action="version", version=f"hashmatch {version}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
