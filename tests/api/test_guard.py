"""The probing guard through the app, on SQLite and PostgreSQL: a walk throttles then suspends its
organisation (every key of it), the list's owner is told through its webhook, the suspended hoster
still handles its notices, others are untouched, and the operator's lift restores matching."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from cli.main import main
from db import make_session_factory
from db.models import AuditRecord, ProbeWatch, Standing, WebhookDelivery
from guard.watching import lift
from tests.api.support import World, flip, open_world
from tests.attacks import Attack, Stopped
from tests.conftest import Configure


def ask_as(world: World, who: str, variant: bool = False) -> Attack:
    def ask(codes: Sequence[bytes]) -> list[bool]:
        items = [
            {"type": "pdq", "hash": code.hex(), "ref": f"walk-{code.hex()[:12]}", "variant": variant}
            for code in codes
        ]
        answer = world.match(who, items)
        if answer.status_code == 403:
            raise Stopped
        assert answer.status_code == 200, answer.text
        return [result["matched"] for result in answer.json()["results"]]

    return Attack(ask, 256)


def test_a_walk_is_suspended_the_owner_told_and_the_operator_lifts_it(world: World) -> None:
    hook = world.client.post(
        "/v1/webhooks", json={"url": "https://hooks.example/eokm"}, headers=world.auth("hotline")
    )
    assert hook.status_code == 201, hook.text
    start = bytes.fromhex(flip(world.hashes["img2.pdq"], 3))  # EOKM's entry, threshold 31
    learned = ask_as(world, "hoster").run(start)
    assert learned <= 32

    refused = world.match("hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "x"}])
    assert refused.status_code == 403
    assert "suspended" in refused.json()["detail"]
    assert world.client.get("/v1/notices", headers=world.auth("hoster")).status_code == 200  # still works
    other = world.match("hoster2", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "x"}])
    assert other.json()["results"][0]["matched"] is True

    sessions = make_session_factory(world.engine)
    with sessions() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.action.like("probing.%")).order_by(AuditRecord.id)
        ).all()
        assert actions == ["probing.throttled", "probing.suspended"]
        told = session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id.is_(None))).all()
        assert [delivery.event for delivery in told] == ["probing.throttled", "probing.suspended"]
        payload = told[-1].payload
        assert payload["organisation"] == "Example Hosting"
        assert [entry["entry"] for entry in payload["entries"]] == [world.entries[world.hashes["img2.pdq"]]]
        assert world.hashes["img2.pdq"] not in str(payload)  # entries by id and item, never a hash
    shown = world.client.get("/v1/probing/escalations", headers=world.auth("hotline")).json()["escalations"]
    assert [(e["organisation"], e["level"]) for e in shown] == [
        ("Example Hosting", "suspended"),
        ("Example Hosting", "throttled"),
    ]
    assert shown[0]["entries"] == [
        {"entry": world.entries[world.hashes["img2.pdq"]], "item": "img2", "list_id": 1, "list": "eokm-main"}
    ]
    other_hotline = world.client.get("/v1/probing/escalations", headers=world.auth("hotline2"))
    assert other_hotline.json() == {"escalations": []}  # IWF's lists were not walked
    with sessions.begin() as session:
        hoster = session.scalar(select(Standing.organisation_id).where(Standing.level == "suspended"))
        assert hoster is not None
        assert lift(session, hoster, world.clock.now(), "reviewed: a test") == "suspended"
    allowed = world.match("hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "x"}])
    assert allowed.json()["results"][0]["matched"] is True
    with sessions() as session:
        assert {watch.probes for watch in session.scalars(select(ProbeWatch))} == {0}


def test_a_hotline_walking_its_own_entry_is_not_watched(world: World) -> None:
    start = bytes.fromhex(flip(world.hashes["img2.pdq"], 3))
    attack = ask_as(world, "hotline")
    assert attack.run(start) == 256  # its own list: it holds the hash already
    with make_session_factory(world.engine)() as session:
        assert session.scalars(select(Standing)).all() == []


def test_the_operator_lists_and_lifts_from_the_command_line(
    world: World, database_url: str, tmp_path: Path, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    ask_as(world, "hoster").run(bytes.fromhex(flip(world.hashes["img2.pdq"], 3)))
    configure(database_url=database_url, data_dir=tmp_path)
    assert main(["probing", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].startswith("Example Hosting\tsuspended\t")
    assert main(["probing", "lift", "Other Hosting", "--reason", "none"]) == 1
    assert "not watched" in capsys.readouterr().err
    assert main(["probing", "lift", "Example Hosting", "--reason", "false alarm, reviewed"]) == 0
    assert capsys.readouterr().out == "Example Hosting: suspended -> watched; probe counts reset\n"
    assert (
        world.match("hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "x"}]).status_code
        == 200
    )
    with make_session_factory(world.engine)() as session:
        lifted = session.scalar(select(AuditRecord).where(AuditRecord.action == "probing.lifted"))
        assert lifted is not None
        assert lifted.detail["reason"] == "false alarm, reviewed"


def test_a_walk_through_variant_items_is_watched_at_the_variant_radius(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """Variant items answered at a lower radius (20 here, the list's threshold 31): the guard keeps
    each edge query with the radius it was answered at, and the walk along that edge is suspended."""
    with open_world(engine, database_url, tmp_path, variant_thresholds={"pdq": 20}) as world:
        start = bytes.fromhex(flip(world.hashes["img2.pdq"], 3))
        assert ask_as(world, "hoster", variant=True).run(start) <= 32
        refused = world.match("hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "x"}])
        assert refused.status_code == 403
        with make_session_factory(world.engine)() as session:
            (watch,) = session.scalars(select(ProbeWatch)).all()
            assert watch.threshold == 31
            assert watch.probes >= 24
            assert set(np.frombuffer(watch.edge_radii or b"", "<i4").tolist()) == {20}
