"""The app of one ``hashmatch serve`` worker process, built from the settings in its environment:
uvicorn's workers each import this module and call :func:`app_from_environment` (a factory)."""

from fastapi import FastAPI

from api.app import create_app
from config import get_settings


def app_from_environment() -> FastAPI:
    """The API over the ``HASHMATCH_*`` settings of this process (the database is already migrated)."""
    return create_app(get_settings())
