"""Commands over the notices database: the periodic tick (for cron) and the compliance report."""

import argparse
import sys
from datetime import datetime

from cli.common import CommandError, Commands, open_database, plural


def register(commands: Commands) -> None:
    notices = commands.add_parser("notices", help="notice deadlines, reminders and webhook deliveries")
    notices_commands = notices.add_subparsers(required=True, metavar="ACTION")
    tick_command = notices_commands.add_parser(
        "tick", help="one pass: mark overdue notices, send reminders, deliver webhooks (run it from cron)"
    )
    tick_command.set_defaults(handler=_tick)

    report = commands.add_parser("report", help="reports for the authority")
    reports = report.add_subparsers(required=True, metavar="REPORT")
    compliance = reports.add_parser(
        "compliance", help="per hoster or list: notices by status, share removed in time, time to removal"
    )
    compliance.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="DATE",
        help="first day (00:00 UTC), or a time with its offset",
    )
    compliance.add_argument(
        "--to", dest="end", required=True, metavar="DATE", help="end, exclusive: a date (00:00 UTC) or a time"
    )
    compliance.add_argument(
        "--by", default="hoster", metavar="hoster|list|total", help="one row per (default: hoster)"
    )
    compliance.add_argument("--csv", action="store_true", help="CSV instead of tab-separated columns")
    compliance.set_defaults(handler=_compliance)


def _tick(_: argparse.Namespace) -> None:
    from config import get_settings
    from db.clock import SystemClock
    from notices.delivery import deliver_due
    from notices.lifecycle import tick
    from notices.outbound import Outbound
    from notices.sealing import sealer_from

    now, settings = SystemClock().now(), get_settings()
    with open_database(settings) as sessions:
        with sessions.begin() as session:
            ticked = tick(session, now)
        outbound, sealer = Outbound.from_settings(settings), sealer_from(settings)
        sent = deliver_due(sessions, now, outbound, sealer, workers=settings.webhook_workers)
    print(
        f"{plural(ticked.overdue, 'notice')} became overdue, {plural(ticked.reminded, 'reminder')}; "
        f"webhooks: {sent.fanned_out} "
        f"queued, {sent.delivered} delivered, {sent.failed} to retry, {sent.gave_up} given up"
    )


def _compliance(args: argparse.Namespace) -> None:
    from config import get_settings
    from db.clock import SystemClock
    from notices.compliance import GROUPINGS, compliance_report, to_csv

    if args.by not in GROUPINGS:
        raise CommandError(f"--by {args.by!r}: expected one of {', '.join(GROUPINGS)}")

    start, end = _bound("--from", args.start), _bound("--to", args.end)
    with open_database(get_settings()) as sessions, sessions() as session:
        rows = compliance_report(session, start, end, args.by, SystemClock().now())
    sys.stdout.write(to_csv(rows, delimiter="," if args.csv else "\t"))


def _bound(option: str, text: str) -> datetime:
    """``--from``/``--to``: the forms the API takes too (:func:`notices.compliance.parse_bound`)."""
    from notices.compliance import parse_bound
    from notices.errors import InvalidRequest

    try:
        return parse_bound(option, text)
    except InvalidRequest as error:
        raise CommandError(f"{option} {text!r}: {error.reason}") from None
