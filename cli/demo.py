"""``hashmatch demo``: a service ready to try on the embedded default (what ``make run`` serves).

Idempotent: a hotline owning one list imported from the given file and published, a hoster and the
authority, and one API key each, written once to ``<data dir>/demo-keys/<role>.key``. Running it again
changes nothing that is already there.
"""

import argparse
from pathlib import Path

from cli.common import Commands, open_binary, open_database

ORGANISATIONS = {"hotline": "Demo Hotline", "hoster": "Demo Hoster", "authority": "Demo Authority"}
LIST_NAME = "sample"


def register(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="set up demo organisations, keys and a published list")
    demo.add_argument("list", type=Path, help="the demo hotline's list file (CSV, NDJSON or '<type> <hash>')")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> None:
    import audit
    from accounts import create_organisation, issue_key
    from config import get_settings
    from db.clock import SystemClock
    from db.models import HashList, Organisation
    from indexer.formats import detect_format, read_list
    from indexer.lists import create_list, find_list, import_list
    from notices.publishing import publish_lists

    settings = get_settings()
    now = SystemClock().now()
    keys = settings.data_dir / "demo-keys"
    keys.mkdir(parents=True, exist_ok=True)
    new_keys: dict[Path, str] = {}
    with open_database(settings) as sessions:
        with sessions.begin() as session:
            for role, name in ORGANISATIONS.items():
                organisation = session.query(Organisation).filter_by(name=name).one_or_none()
                if organisation is None:
                    organisation = create_organisation(session, name, role, now)
                    audit.append(session, "organisation.created", {"organisation": organisation.id}, now)
                key_file = keys / f"{role}.key"
                if not key_file.exists():
                    issued = issue_key(session, organisation, "demo", now)
                    audit.append(
                        session,
                        "key.created",
                        {"prefix": issued.key.prefix},
                        now,
                        organisation.id,
                        issued.key.id,
                    )
                    new_keys[key_file] = issued.secret
            label = f"{ORGANISATIONS['hotline']}/{LIST_NAME}"
            if session.query(HashList).filter_by(name=LIST_NAME).one_or_none() is None:
                create_list(
                    session,
                    ORGANISATIONS["hotline"],
                    LIST_NAME,
                    description="synthetic hashes for trying the service",
                    default_category="A",
                    legal_basis="Art. 240b Wetboek van Strafrecht",
                )
            hash_list = find_list(session, label)
            if hash_list.latest_version == 0:
                with open_binary(str(args.list)) as stream:
                    found = read_list(stream, detect_format(args.list))
                import_list(session, hash_list, found, mode="full", source=args.list.name)
        for key_file, secret in new_keys.items():  # written once the keys are committed
            key_file.touch(mode=0o600)
            key_file.write_text(secret + "\n")
        served = publish_lists(sessions, settings)
    counts = ", ".join(f"{name} {count}" for name, count in sorted(served.entries.items()))
    print(f"list {label} served as index version {served.version} ({counts})")
    print(f"API keys (one per role) in {keys}/: {', '.join(sorted(ORGANISATIONS))}")
