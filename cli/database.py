"""The database of the configured settings, migrated to the newest schema, for commands that need it."""

from sqlalchemy.orm import Session, sessionmaker

from config.settings import get_settings
from db import make_engine, make_session_factory, upgrade


def open_database() -> sessionmaker[Session]:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    return make_session_factory(engine)
