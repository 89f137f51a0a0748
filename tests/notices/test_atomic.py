"""A batch's notices are committed together with their matches and events, or not at all."""

from sqlalchemy import func, select

from db.models import Notice
from tests.notices.conftest import World


def test_a_batch_rolled_back_after_its_first_notice_leaves_no_notice(world: World) -> None:
    with world.sessions() as session:
        world.notice(session, [world.eokm_pdq], ref="s3://bucket/first.jpg")  # released its savepoint
        world.notice(session, [world.iwf_pdq], ref="s3://bucket/second.jpg")
        session.rollback()  # the batch fails after opening its notices: none of them stays
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0
