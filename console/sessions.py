"""Console sessions: an organisation's API key exchanged once for a session token.

The browser keeps a random token in a cookie; the database keeps only its SHA-256 (rows, not process
memory: every worker and replica knows every session). Each request looks the session up again, with its
key and organisation, so a revoked key or a suspended organisation is signed out at its next request, and a
session unused for ``idle`` is gone. The CSRF token of a session is an HMAC of its token: nothing more to
store, and nobody without the cookie can compute it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts import Caller, InvalidKey, authenticate, caller_of_key
from db.models import ConsoleSession

TOUCH_RESOLUTION = timedelta(seconds=30)
"""``last_seen_at`` is written at most this often per session: not a database write on every page."""
REASONS = {
    "signed-out": "You are signed out.",
    "sign-in": "Sign in with your organisation's API key.",
    "expired": "Your session expired after a time without use: sign in again.",
    "revoked": "The key this session was opened with was revoked: sign in with a valid key.",
    "suspended": "Your organisation is suspended by the probing guard: the operator can lift it.",
}
"""Why the sign-in page is shown, by the code in its address."""


class SignedOut(Exception):
    """No valid session: ``code`` is a key of :data:`REASONS`."""

    def __init__(self, code: str) -> None:
        super().__init__(REASONS[code])
        self.code = code


class SignInRefused(Exception):
    """The key cannot open a session (one readable sentence)."""


@dataclass(frozen=True)
class Signed:
    """A request's valid session."""

    caller: Caller
    session_id: int
    csrf: str
    flash: str
    """The message left by the previous action (``ok:`` or ``error:`` then the text), or empty."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session ``token``: what every form of the session carries."""
    return hmac.new(token.encode("utf-8"), b"console csrf", hashlib.sha256).hexdigest()


def csrf_valid(token: str, presented: str | None) -> bool:
    """Whether ``presented`` is the session's CSRF token (compared in constant time)."""
    return hmac.compare_digest(csrf_token(token), presented or "")


def sign_in(session: Session, key_text: str, now: datetime, idle: timedelta) -> str:
    """A new session for the organisation of ``key_text``; returns its token (the only copy). Sessions
    idle for longer than ``idle`` are deleted on the way."""
    try:
        caller = authenticate(session, key_text.strip(), now)
    except InvalidKey as refused:
        raise SignInRefused(f"{refused}: paste your organisation's whole key (hm_...)") from None
    if caller.standing == "suspended":
        raise SignInRefused(REASONS["suspended"])
    session.execute(delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - idle))
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(digest=digest(token), key_id=caller.key_id, created_at=now, last_seen_at=now, flash="")
    )
    return token


def resume(session: Session, token: str | None, now: datetime, idle: timedelta) -> Signed:
    """The valid session of ``token``, marked as used at ``now`` and its flash message taken; otherwise
    :class:`SignedOut` (and a session that can no longer be used is deleted)."""
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.digest == digest(token or "")))
    if token is None or row is None:
        raise SignedOut("sign-in")
    if now - row.last_seen_at > idle:
        session.delete(row)
        raise SignedOut("expired")
    try:
        caller = caller_of_key(session, row.key_id)
    except InvalidKey:
        session.delete(row)
        raise SignedOut("revoked") from None
    if caller.standing == "suspended":
        session.delete(row)
        raise SignedOut("suspended")
    flash = row.flash
    if flash:
        row.flash = ""
    if now - row.last_seen_at >= TOUCH_RESOLUTION:
        row.last_seen_at = now
    return Signed(caller, row.id, csrf_token(token), flash)


def leave_flash(session: Session, session_id: int, message: str, ok: bool = True) -> None:
    """The message the next page of the session shows (after an action redirects)."""
    row = session.get(ConsoleSession, session_id)
    if row is not None:
        row.flash = f"{'ok' if ok else 'error'}:{message}"


def sign_out(session: Session, token: str | None) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.digest == digest(token or "")))
