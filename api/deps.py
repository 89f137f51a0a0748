"""What routes depend on: the app's services, a database session, the calling key and its role."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import audit
from accounts import Caller, authenticate
from api.errors import RateLimited, WrongRole
from api.metrics import Metrics
from audit import AuditEntry, AuditWriter
from config.settings import Settings
from db.clock import Clock
from db.models import Organisation
from db.sealing import Sealer
from guard.budgets import Budgets
from guard.watching import ProbeGuard
from indexer.watcher import IndexWatcher
from notices.outbound import Outbound


@dataclass
class Services:
    """Everything one app instance holds, on ``app.state.services``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    watcher: IndexWatcher
    budgets: Budgets
    metrics: Metrics
    audit: AuditWriter
    probes: ProbeGuard
    outbound: Outbound
    """Where webhooks may go (checked at registration and delivery)."""
    sealer: Sealer
    """Seals webhook secrets at rest."""
    warmed: threading.Event = field(default_factory=threading.Event)
    """Set once the search kernels are compiled and the served index searched (:func:`api.app.warm_up`)."""


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def organisation_of(session: Session, caller: Caller) -> Organisation:
    """The caller's organisation, as a row of ``session`` (the key was just authenticated against it)."""
    return session.get_one(Organisation, caller.organisation_id)


BEARER = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="hm_<prefix>_<secret>",
    description="An organisation's API key (`hashmatch keys create`), sent as "
    "`Authorization: Bearer hm_<prefix>_<secret>`",
    auto_error=False,  # a missing or malformed key is answered by accounts' InvalidKey (401, our shape)
)
"""The security scheme every protected operation declares in the OpenAPI document ("Authorize")."""
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def allow(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting keys of organisations with one of ``roles`` (401, 403, then 429: the call
    costs one hash of its organisation's rate budget)."""

    def caller(request: Request, credentials: Credentials) -> Caller:
        found = services(request)
        presented = credentials.credentials.strip() if credentials is not None else None
        with found.sessions() as session:
            who = authenticate(session, presented, found.clock.now())
            session.commit()  # last_used_at
        if who.role not in roles:
            raise WrongRole(who.role, roles)
        charge(found, who, 1)
        return who

    caller.__name__ = f"caller_{'_'.join(roles)}"
    return caller


def budget_of(who: Caller) -> str:
    """The rate budget a caller spends: its organisation's, whichever of its keys it uses."""
    return f"org:{who.organisation_id}"


def rate_of(found: Services, who: Caller) -> float | None:
    """The caller's rate in hashes per second if the probing guard throttled its organisation, else
    None (the settings' rate)."""
    return found.settings.probe_throttled_rate if who.standing == "throttled" else None


def charge(found: Services, who: Caller, hashes: int) -> None:
    """Spend ``hashes`` of the caller's organisation's rate budget, or refuse the call (429)."""
    wait = found.budgets.take(budget_of(who), hashes, rate=rate_of(found, who))
    if wait is not None:
        raise RateLimited(wait)


def record(
    found: Services, who: Caller, action: str, detail: dict[str, Any], session: Session | None = None
) -> None:
    """Audit one use of a key: in ``session``'s transaction when given (a call that changes a notice:
    commit after), otherwise through the group-committing writer."""
    entry = AuditEntry(action, detail, found.clock.now(), who.organisation_id, who.key_id)
    if session is not None:
        audit.append_many(session, [entry])
    else:
        found.audit.submit(entry)
