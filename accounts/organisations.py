"""Organisations: a name and one role that decides what its keys may do."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.errors import DuplicateName, InvalidRole, UnknownOrganisation
from db.models import ROLES, Organisation

MANAGERS = ("admin",)
"""The role that manages organisations and keys: the operator's (the CLI runs as the operator)."""


def create_organisation(session: Session, name: str, role: str, now: datetime) -> Organisation:
    """A new organisation (flushed, so it has its id); names are unique."""
    name = name.strip()
    if role not in ROLES:
        raise InvalidRole(role, ROLES)
    if not name:
        raise ValueError("an organisation needs a non-empty name")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise DuplicateName(name)
    organisation = Organisation(name=name, role=role, created_at=now)
    session.add(organisation)
    session.flush()
    return organisation


def find_organisation(session: Session, name: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        raise UnknownOrganisation(name)
    return organisation


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))
