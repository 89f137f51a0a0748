"""API keys: ``hm_<prefix>_<secret>``, shown once. Only the prefix (to find the key) and the SHA-256 of
the whole key are stored; a presented key is compared to the digest in constant time."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from accounts.errors import InvalidKey, UnknownKey
from db.models import ApiKey, Organisation, Standing
from db.tokens import random_token

KEY_PATTERN = re.compile(r"hm_([a-z2-7]{10})_([a-z2-7]{32})")
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key: no database write on every request."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the full key text, shown to its owner once and never stored."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: a valid key and its organisation."""

    key_id: int
    prefix: str
    organisation_id: int
    organisation: str
    role: str
    standing: str | None = None
    """What the probing guard made of the organisation (None: never watched; see guard.watching)."""


def digest(key_text: str) -> str:
    return hashlib.sha256(key_text.encode("utf-8")).hexdigest()


def issue_key(session: Session, organisation: Organisation, name: str, now: datetime) -> IssuedKey:
    """A new key for ``organisation``; the returned ``secret`` is the only copy of it."""
    prefix = random_token(6)
    secret = f"hm_{prefix}_{random_token(20)}"
    key = ApiKey(
        organisation_id=organisation.id, prefix=prefix, digest=digest(secret), name=name, created_at=now
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


MISSING_KEY = "missing or malformed API key: send 'Authorization: Bearer hm_<prefix>_<secret>'"


def authenticate(session: Session, presented: str | None, now: datetime) -> Caller:
    """The caller a presented key belongs to; :class:`InvalidKey` if it is malformed, unknown or revoked."""
    found = KEY_PATTERN.fullmatch(presented or "")
    if found is None:
        raise InvalidKey(MISSING_KEY)
    row = _key_row(session, ApiKey.prefix == found.group(1))
    expected = row[0].digest if row is not None else digest("hm_no_such_key")
    matches = hmac.compare_digest(expected, digest(found.group(0)))
    if row is None or not matches or row[0].revoked_at is not None:
        raise InvalidKey("unknown or revoked API key")
    key, organisation, standing = row
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return Caller(key.id, key.prefix, organisation.id, organisation.name, organisation.role, standing)


def caller_of_key(session: Session, key_id: int) -> Caller:
    """The caller behind the key ``key_id`` (already authenticated once, e.g. at a console sign-in), as
    :func:`authenticate` finds it now; :class:`InvalidKey` once the key is revoked."""
    row = _key_row(session, ApiKey.id == key_id)
    if row is None or row[0].revoked_at is not None:
        raise InvalidKey("unknown or revoked API key")
    key, organisation, standing = row
    return Caller(key.id, key.prefix, organisation.id, organisation.name, organisation.role, standing)


def _key_row(session: Session, which: ColumnElement[bool]) -> tuple[ApiKey, Organisation, str | None] | None:
    """A key with its organisation and that organisation's standing (None: never watched)."""
    row = session.execute(
        select(ApiKey, Organisation, Standing.level)
        .select_from(ApiKey)
        .join(Organisation, Organisation.id == ApiKey.organisation_id)
        .outerjoin(Standing, Standing.organisation_id == Organisation.id)
        .where(which)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def revoke_key(session: Session, prefix: str, now: datetime) -> ApiKey:
    """Revoke the key with ``prefix`` (revoking twice keeps the first time)."""
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise UnknownKey(prefix)
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def list_keys(
    session: Session, organisation: Organisation | None = None
) -> list[tuple[ApiKey, Organisation]]:
    query = select(ApiKey, Organisation).join(Organisation).order_by(ApiKey.id)
    if organisation is not None:
        query = query.where(ApiKey.organisation_id == organisation.id)
    return [(key, org) for key, org in session.execute(query)]
