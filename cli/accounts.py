"""``hashmatch orgs create|list`` and ``hashmatch keys create|list|revoke``: who may call the API."""

import argparse
import sys
from datetime import datetime

from cli.common import CommandError, Commands, open_database


def register(commands: Commands) -> None:
    orgs = commands.add_parser("orgs", help="organisations: hotlines, hosters, the authority, admins")
    org_commands = orgs.add_subparsers(required=True, metavar="ACTION")
    create = org_commands.add_parser("create", help="add an organisation with a role")
    create.add_argument("name")
    create.add_argument(
        "--role", required=True, help="hotline, hoster, authority or admin (see the README's route table)"
    )
    create.set_defaults(handler=_orgs_create)
    org_commands.add_parser("list", help="list organisations").set_defaults(handler=_orgs_list)

    keys = commands.add_parser("keys", help="API keys: shown once, stored as digests, revocable")
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    key_create = key_commands.add_parser("create", help="issue a key for an organisation (printed once)")
    key_create.add_argument("organisation", help="the organisation's name")
    key_create.add_argument("--name", default="", help="what the key is for, e.g. 'scanner on host-7'")
    key_create.set_defaults(handler=_keys_create)
    key_list = key_commands.add_parser("list", help="list keys (prefixes only, never the keys)")
    key_list.add_argument("--org", help="only this organisation's keys")
    key_list.set_defaults(handler=_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by its prefix: refused from then on")
    revoke.add_argument("prefix", help="the part after 'hm_' and before the second '_'")
    revoke.set_defaults(handler=_keys_revoke)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _orgs_create(args: argparse.Namespace) -> None:
    import audit
    from accounts import AccountError, create_organisation
    from config import get_settings
    from db.clock import SystemClock

    now = SystemClock().now()
    try:
        with open_database(get_settings()) as sessions, sessions.begin() as session:
            org = create_organisation(session, args.name, args.role, now)
            audit.append(session, "organisation.created", {"organisation": org.id, "role": org.role}, now)
            print(f"organisation {org.id}\t{org.name}\t{org.role}")
    except (AccountError, ValueError) as error:
        raise CommandError(str(error)) from None


def _orgs_list(_: argparse.Namespace) -> None:
    from accounts import list_organisations
    from config import get_settings

    with open_database(get_settings()) as sessions, sessions() as session:
        print("id\tname\trole\tcreated")
        for org in list_organisations(session):
            print(f"{org.id}\t{org.name}\t{org.role}\t{_when(org.created_at)}")


def _keys_create(args: argparse.Namespace) -> None:
    import audit
    from accounts import AccountError, find_organisation, issue_key
    from config import get_settings
    from db.clock import SystemClock

    now = SystemClock().now()
    try:
        with open_database(get_settings()) as sessions, sessions.begin() as session:
            org = find_organisation(session, args.organisation)
            issued = issue_key(session, org, args.name, now)
            audit.append(session, "key.created", {"prefix": issued.key.prefix}, now, org.id, issued.key.id)
    except AccountError as error:
        raise CommandError(str(error)) from None
    print(issued.secret)
    print(
        f"key {issued.key.prefix} for {org.name} ({org.role}): store it now, it is not shown again",
        file=sys.stderr,
    )


def _keys_list(args: argparse.Namespace) -> None:
    from accounts import AccountError, find_organisation, list_keys
    from config import get_settings

    try:
        with open_database(get_settings()) as sessions, sessions() as session:
            org = find_organisation(session, args.org) if args.org else None
            print("prefix\torganisation\trole\tname\tcreated\tlast used\trevoked")
            for key, owner in list_keys(session, org):
                print(
                    f"{key.prefix}\t{owner.name}\t{owner.role}\t{key.name}\t{_when(key.created_at)}\t"
                    f"{_when(key.last_used_at)}\t{_when(key.revoked_at)}"
                )
    except AccountError as error:
        raise CommandError(str(error)) from None


def _keys_revoke(args: argparse.Namespace) -> None:
    import audit
    from accounts import AccountError, revoke_key
    from config import get_settings
    from db.clock import SystemClock

    now = SystemClock().now()
    try:
        with open_database(get_settings()) as sessions, sessions.begin() as session:
            key = revoke_key(session, args.prefix, now)
            audit.append(session, "key.revoked", {"prefix": key.prefix}, now, key.organisation_id, key.id)
            print(f"key {key.prefix} revoked at {_when(key.revoked_at)}")
    except AccountError as error:
        raise CommandError(str(error)) from None
