"""``hashmatch``: the command line over the project's core.

Each command module adds its sub-commands through ``register``. Every failure ends with one readable
line on standard error and a non-zero exit code, never a traceback.
"""

import argparse
import sys
from collections.abc import Sequence

from cli import accounts, audit, demo, files, hashing, lists, notices, probing, scanning, serve
from cli.common import CommandError
from indexer.errors import ListsError
from matcher import MatcherError
from notices.errors import NoticeError

EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130
COMMAND_MODULES = (files, lists, hashing, scanning, accounts, audit, notices, probing, serve, demo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except (CommandError, ListsError, MatcherError, NoticeError, OSError) as error:
        print(f"hashmatch: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hashmatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hashmatch", description="Exact matching against hash lists.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
