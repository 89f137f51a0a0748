"""``hashmatch notices tick`` and ``hashmatch report compliance`` on a configured database."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from config import get_settings
from db.clock import SystemClock
from notices.lifecycle import confirm_removed
from notices.outbound import Outbound
from notices.sealing import sealer_from
from notices.webhooks import register_webhook
from tests.commands import run
from tests.conftest import Configure
from tests.notices.conftest import T0, World
from tests.notices.receiver import running_receiver


@pytest.fixture
def configured(world: World, engine: Engine, configure: Configure) -> World:
    """The command line pointed at the test database through the environment."""
    configure(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=Fernet.generate_key().decode(),
        webhook_allow_internal=True,  # the receiver is local
    )
    return world


def test_tick_marks_overdue_and_delivers(configured: World, capsys: pytest.CaptureFixture[str]) -> None:
    now = SystemClock().now()
    with running_receiver() as receiver:
        with configured.sessions.begin() as session:
            settings = get_settings()
            outbound, sealer = Outbound.from_settings(settings), sealer_from(settings)
            register_webhook(session, configured.host_a, receiver.url, now, outbound, sealer)
            configured.notice(session, [configured.eokm_pdq], created_at=now - timedelta(hours=25))
        code, out, _ = run(capsys, "notices", "tick")
        assert code == 0
        assert out == (
            "1 notice became overdue, 0 reminders; webhooks: 2 queued, 2 delivered, 0 to retry, 0 given up\n"
        )
        assert [r.headers["X-Hashmatch-Event"] for r in receiver.requests] == [
            "notice.created",
            "notice.status_changed",
        ]
        assert run(capsys, "notices", "tick")[1].startswith("0 notices became overdue, 0 reminders")


def test_report_compliance(configured: World, capsys: pytest.CaptureFixture[str]) -> None:
    with configured.sessions.begin() as session:
        notice = configured.notice(session, [configured.eokm_pdq])
        confirm_removed(session, notice, configured.host_a, now=T0 + timedelta(hours=3))
        configured.notice(session, [configured.iwf_pdq], hoster=configured.host_b)
    code, out, _ = run(capsys, "report", "compliance", "--from", "2026-11-23", "--to", "2026-11-24", "--csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("group,notices,open,")
    assert lines[1] == "hoster-a,1,0,0,0,1,0,1,1.0000,3.00,3.00,0,0"
    assert lines[2].startswith("hoster-b,1,")
    code, out, _ = run(
        capsys,
        "report",
        "compliance",
        "--from",
        "2026-11-23T00:00+01:00",
        "--to",
        "2026-11-24",
        "--by",
        "total",
    )
    assert code == 0
    assert out.splitlines()[1].split("\t")[:6] == ["total", "2", "1", "0", "0", "1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--from", "yesterday", "--to", "2026-11-24"), "--from 'yesterday': expected a date"),
        (
            ("--from", "2026-11-23T00:00", "--to", "2026-11-24"),
            "--from '2026-11-23T00:00': '2026-11-23T00:00' has no time zone: add a UTC offset",
        ),
        (
            ("--from", "2026-11-24", "--to", "2026-11-23"),
            "end: the period ends (2026-11-23T00:00:00+00:00) before",
        ),
    ],
)
def test_report_errors_are_one_line(
    configured: World, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "report", "compliance", *argv)
    assert (code, out) == (1, "")
    assert err.startswith(f"hashmatch: error: {message}")
    assert err.count("\n") == 1


def test_an_unreachable_database_is_one_line(
    configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(database_url="postgresql+psycopg://nobody@/none?host=/nonexistent")
    code, _, err = run(capsys, "notices", "tick")
    assert code == 1
    assert err.startswith("hashmatch: error: database: ")
    assert err.count("\n") == 1
