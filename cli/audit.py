"""``hashmatch audit verify``: recompute the audit log's hash chain; exit 1 naming the first broken record."""

import argparse

import audit
from cli.common import CommandError, Commands, open_database
from config import get_settings


def register(commands: Commands) -> None:
    log = commands.add_parser("audit", help="the append-only, hash-chained audit log")
    log_commands = log.add_subparsers(required=True, metavar="ACTION")
    verify = log_commands.add_parser("verify", help="check every record's digest and link, in order")
    verify.set_defaults(handler=_verify)


def _verify(_: argparse.Namespace) -> None:
    with open_database(get_settings()) as sessions, sessions() as session:
        result = audit.verify(session)
    if not result.ok:
        raise CommandError(
            f"audit record {result.broken_id} is broken: {result.reason} "
            f"({result.records} records before it verify)"
        )
    print(f"audit log intact: {result.records} records verified")
