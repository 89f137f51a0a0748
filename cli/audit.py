"""``hashmatch audit verify``: recompute the audit log's hash chain; exit 1 naming the first broken record."""

import argparse

from cli.common import CommandError, Commands, open_database, plural


def register(commands: Commands) -> None:
    log = commands.add_parser("audit", help="the append-only, hash-chained audit log")
    log_commands = log.add_subparsers(required=True, metavar="ACTION")
    verify = log_commands.add_parser("verify", help="check every record's digest and link, in order")
    verify.set_defaults(handler=_verify)


def _verify(_: argparse.Namespace) -> None:
    import audit
    from config import get_settings

    with open_database(get_settings()) as sessions, sessions() as session:
        result = audit.verify(session)
    if not result.ok:
        raise CommandError(
            f"audit record {result.broken_id} is broken: {result.reason} "
            f"({plural(result.records, 'record')} before it "
            f"{'verifies' if result.records == 1 else 'verify'})"
        )
    print(f"audit log intact: {plural(result.records, 'record')} verified")
