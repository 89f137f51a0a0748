"""A batch's notices are committed together with their matches, events and audit record, or not at
all; batches and imports run at once without waiting errors."""

import threading
from collections.abc import Callable

from sqlalchemy import func, select

import audit
from db.models import HashList, Notice, Organisation
from indexer.lists import create_list, import_list
from tests.listdata import codes, parse, plain
from tests.notices.conftest import T0, World, half_written

ROUNDS = 15
REFS = 8


def test_a_batch_rolled_back_after_its_first_notice_leaves_no_notice(world: World) -> None:
    with world.sessions() as session:
        world.notice(session, [world.eokm_pdq], ref="s3://bucket/first.jpg")  # released its savepoint
        world.notice(session, [world.iwf_pdq], ref="s3://bucket/second.jpg")
        session.rollback()  # the batch fails after opening its notices: none of them stays
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_batches_open_notices_while_lists_are_imported(world: World) -> None:
    """Two threads send the same batches for one hoster (each reads, opens notices, appends its audit
    record, commits, as a match call does) while a third imports a list again and again: nobody
    gets 'database is locked', each ref has one notice and every notice is whole."""
    with world.sessions.begin() as session:
        bulk = create_list(session, "IWF", "bulk").id
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def batches() -> None:
        for round_number in range(ROUNDS):
            with world.sessions() as session:
                hoster = session.get_one(Organisation, world.host_a.id)
                for n in range(REFS):
                    world.notice(session, [world.eokm_pdq], hoster=hoster, ref=f"s3://b/{round_number}-{n}")
                audit.append(session, "match", {"round": round_number}, T0, hoster.id)
                session.commit()

    def imports() -> None:
        for round_number in range(ROUNDS):
            with world.sessions.begin() as session:
                found = parse(plain("pdq", codes(2000, round_number)))
                import_list(session, session.get_one(HashList, bulk), found, mode="full", source="bulk.txt")

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # reported below, with every other thread's
            failures.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in (batches, batches, imports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == ROUNDS * REFS
        assert half_written(session) == []
        assert session.get_one(HashList, bulk).latest_version == ROUNDS
        assert audit.verify(session).records == 2 * ROUNDS
