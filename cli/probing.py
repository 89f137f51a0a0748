"""``hashmatch probing list|lift``: organisations the probing guard watches, and lifting a restriction."""

import argparse

from cli.common import CommandError, Commands, open_database


def register(commands: Commands) -> None:
    probing = commands.add_parser(
        "probing", help="hosters throttled or suspended for walking along listed entries' thresholds"
    )
    actions = probing.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("list", help="every watched organisation and its standing").set_defaults(handler=_list)
    lifting = actions.add_parser(
        "lift", help="restore an organisation's matching (its probe counts start again from zero)"
    )
    lifting.add_argument("organisation", help="the organisation's name")
    lifting.add_argument("--reason", required=True, help="why, for the audit log")
    lifting.set_defaults(handler=_lift)


def _list(_: argparse.Namespace) -> None:
    from config import get_settings
    from db.models import Organisation
    from guard.watching import standings

    with open_database(get_settings()) as sessions, sessions() as session:
        print("organisation\tstanding\tsince\twatched entries\tprobes\treason")
        for watched in standings(session):
            name = session.get_one(Organisation, watched.organisation_id).name
            since = watched.changed_at.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{name}\t{watched.level}\t{since}\t{watched.watches}\t{watched.probes}\t{watched.reason}")


def _lift(args: argparse.Namespace) -> None:
    import audit
    from accounts import AccountError, find_organisation
    from config import get_settings
    from db.clock import SystemClock
    from guard.watching import lift

    now = SystemClock().now()
    try:
        with open_database(get_settings()) as sessions, sessions.begin() as session:
            org = find_organisation(session, args.organisation)
            before = lift(session, org.id, now, args.reason)
            if before is None:
                raise CommandError(f"{org.name} is not watched for probing: nothing to lift")
            detail = {"organisation": org.id, "was": before, "reason": args.reason}
            audit.append(session, "probing.lifted", detail, now, org.id)
    except AccountError as error:
        raise CommandError(str(error)) from None
    print(f"{org.name}: {before} -> watched; probe counts reset")
