"""What every console page uses: the signed-in visit (session, role check, CSRF on every form), the
templates, flash messages, and the error pages (never a 500 or a JSON body for a person)."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData, UploadFile

import audit
from accounts import AccountError, Caller
from audit import AuditEntry
from config.settings import Settings
from console.sessions import SignedOut, csrf_valid, leave_flash, resume
from db.clock import Clock
from db.models import Organisation
from db.sealing import Sealer
from indexer.errors import EmptyImport, ImportRejected, ListsError
from indexer.watcher import IndexWatcher
from notices.errors import NoticeError
from notices.outbound import Outbound
from notices.publishing import publish_for

COOKIE = "hashmatch_console"
PREFIX = "/console"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
NAV = {
    "hoster": (("/notices", "Notices"), ("/webhooks", "Webhooks")),
    "hotline": (
        ("/lists", "Lists"),
        ("/disputes", "Disputes"),
        ("/review", "To review"),
        ("/notices", "Notices"),
        ("/webhooks", "Webhooks"),
    ),
    "authority": (("/compliance", "Compliance"), ("/notices", "Notices")),
    "admin": (
        ("/organisations", "Organisations"),
        ("/review", "To review"),
        ("/notices", "Notices"),
        ("/compliance", "Compliance"),
    ),
}
"""Each role's menu: only the pages its key may use."""
TEMPLATES.env.globals["nav"] = lambda role: [(PREFIX + path, label) for path, label in NAV.get(role, ())]
TEMPLATES.env.filters["when"] = lambda moment: f"{str(moment)[:16].replace('T', ' ')} UTC" if moment else "—"
NAMED = (NoticeError, ListsError, AccountError)
"""The core's named refusals: the API's handlers answer them at a console address as an error page."""
REFUSALS = (*NAMED, ValueError)
"""What the core refuses with a readable sentence: shown to the user as the action's outcome."""
CONSOLE = {"via": "console"}
"""What marks the audit records of the console's actions (the API's have the same names and detail)."""
AFTER_COMMIT = (
    "That is saved, but the publish after it did not complete (the error is logged for the operator): "
    "publish again from the list's page."
)
log = logging.getLogger(__name__)


HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Every page: never cached, no script nor anything from elsewhere, never framed, no address leaked onward."""


class ConsoleServices(Protocol):
    """What the console needs of the app's services (``api.deps.Services`` has it all)."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    outbound: Outbound
    sealer: Sealer
    watcher: IndexWatcher


class PageError(Exception):
    """A page that cannot be shown: rendered as an error page with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInFirst(Exception):
    """No valid session: the browser is sent to the sign-in page, told why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Visit:
    """One request of a signed-in user."""

    request: Request
    found: ConsoleServices
    caller: Caller
    token: str
    csrf: str
    session_id: int
    flash: str
    form: FormData | None = None

    @property
    def role(self) -> str:
        return self.caller.role

    def now(self) -> datetime:
        return self.found.clock.now()

    @contextmanager
    def session(self) -> Iterator[tuple[Session, Organisation]]:
        """A database session and the user's organisation in it (commit to keep changes)."""
        with self.found.sessions() as session:
            yield session, session.get_one(Organisation, self.caller.organisation_id)

    def field(self, name: str) -> str:
        """A text field of the posted form ('' when absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def upload(self, name: str) -> UploadFile | None:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, UploadFile) and value.filename else None

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return page(self.request, template, status, visit=self, **context)

    def done(self, url: str, message: str, ok: bool = True) -> RedirectResponse:
        """Back to ``url`` after an action, with ``message`` shown there."""
        with self.found.sessions() as session:
            leave_flash(session, self.session_id, message, ok)
            session.commit()
        return RedirectResponse(url, status_code=303)

    def act(
        self, url: str, change: Callable[[Session, Organisation], str], then: Callable[[], str] | None = None
    ) -> RedirectResponse:
        """Run ``change`` in one transaction and go back to ``url`` with its message; a refusal of the
        core (bad input, a step not allowed) changes nothing and is shown instead. Once it is committed,
        ``then`` runs (e.g. a publish) and adds its message; if it fails, the error page it gets says
        what was committed (a refusal of the core: with its 4xx status; anything else: logged, 503)."""
        with self.session() as (session, organisation):
            try:
                message = change(session, organisation)
                session.commit()
            except REFUSALS as refused:
                session.rollback()
                return self.done(url, in_words(refused), ok=False)
        if then is not None:
            self.flash = f"ok:{message}"  # shown above the error page if ``then`` fails
            try:
                message = f"{message} {then()}"
            except NAMED:
                raise
            except Exception:
                log.exception("a step after a committed console action failed")
                raise PageError(503, AFTER_COMMIT) from None
            self.flash = ""
        return self.done(url, message)

    def publish(self) -> str:
        """Publish the user's lists as the API's publish does (:func:`notices.publishing.publish_for`:
        audited alike, served here at once); what it did, in words."""
        result = publish_for(
            self.found.sessions,
            self.found.settings,
            self.found.watcher,
            organisation_id=self.caller.organisation_id,
            role=self.role,
            key_id=self.caller.key_id,
            now=self.now(),
            marks=CONSOLE,
        )
        said = "Already served" if not result.changed else f"Published: index version {result.version}"
        return f"{said}; {result.removed} entries no longer served."

    def audit(self, session: Session, action: str, detail: dict[str, Any]) -> None:
        """Audit one action in ``session``'s transaction, like the API's calls (marked as the console's)."""
        entry = AuditEntry(
            action, {**detail, **CONSOLE}, self.now(), self.caller.organisation_id, self.caller.key_id
        )
        audit.append_many(session, [entry])


def in_words(refused: Exception) -> str:
    """A refusal of the core as the console's user reads it: its sentence, or for the import refusals
    whose sentence names a command-line option, what to do on the page instead."""
    if isinstance(refused, ImportRejected):
        first = f", the first: {refused.found.errors[0]}" if refused.found.errors else ""
        return (
            f"{refused.found.bad_lines} bad line(s){first}; nothing was imported: fix the file, or "
            "confirm leaving the bad lines out"
        )
    if isinstance(refused, EmptyImport):
        return (
            f"no valid rows: as a full import it would remove all {refused.entries} entries of the list; "
            "nothing was imported"
        )
    return str(refused)


def services(request: Request) -> ConsoleServices:
    found: ConsoleServices = request.app.state.services
    return found


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template, with :data:`HEADERS`."""
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def signed_in(*roles: str) -> Callable[[Request], Visit]:
    """A dependency: the request's visit, if its session is valid (else to the sign-in page) and its
    organisation has one of ``roles`` (else a 403 page)."""

    def visit(request: Request) -> Visit:
        found = services(request)
        token = request.cookies.get(COOKIE)
        idle = timedelta(minutes=found.settings.console_idle_minutes)
        with found.sessions() as session:
            try:
                signed = resume(session, token, found.clock.now(), idle)
            except SignedOut as out:
                session.commit()
                raise SignInFirst(out.code) from None
            session.commit()
        assert token is not None  # resume refuses a missing token
        shown = Visit(request, found, signed.caller, token, signed.csrf, signed.session_id, signed.flash)
        request.state.visit = shown  # an error page still shows the user's menu
        if signed.caller.role not in roles:
            raise PageError(403, f"This page is not for a {signed.caller.role}'s key.")
        return shown

    visit.__name__ = f"visit_{'_'.join(roles)}"
    return visit


def posted(*roles: str) -> Callable[..., Any]:
    """A dependency for a form's POST: the visit as :func:`signed_in`, with its form, whose CSRF token
    must be the session's (else a 403 page and nothing done)."""
    look = signed_in(*roles)

    async def visit(request: Request, found: Visit = Depends(look)) -> Visit:  # noqa: B008
        form = await request.form()
        presented = form.get("csrf")
        if not csrf_valid(found.token, presented if isinstance(presented, str) else None):
            raise PageError(403, "This form is stale or did not come from this console: reload and retry.")
        found.form = form
        return found

    return visit


def url(path: str, **query: object) -> str:
    """A console address with the query parameters that are set."""
    shown = {name: value for name, value in query.items() if value not in (None, "")}
    return f"{PREFIX}{path}" + (f"?{urlencode(shown)}" if shown else "")


def parse_day(text: str, name: str, default: date) -> datetime:
    """A ``YYYY-MM-DD`` form value as 00:00 UTC of that day (``default`` when empty)."""
    if not text.strip():
        return datetime.combine(default, datetime.min.time(), UTC)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise PageError(400, f"{name}: expected a date as YYYY-MM-DD, got {text!r}") from None
    return datetime.combine(day, datetime.min.time(), UTC)


def parse_int(text: str, name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` from a form or the address (``default`` when empty)."""
    if not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise PageError(400, f"{name}: expected a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise PageError(400, f"{name}: expected {low} to {high}, got {value}")
    return value


def countdown(deadline: str | datetime, now: datetime) -> str:
    """How long until ``deadline``, or how long it is past, in days, hours and minutes."""
    moment = datetime.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    minutes = int((moment - now).total_seconds() // 60)
    left = abs(minutes)
    days, hours, mins = left // 1440, left % 1440 // 60, left % 60
    text = f"{days} d {hours} h" if days else f"{hours} h {mins:02d} min"
    return f"in {text}" if minutes >= 0 else f"{text} overdue"


def respond_to(error: Exception, request: Request) -> Response:
    """The answer to a console error raised while handling ``request``."""
    if isinstance(error, SignInFirst):
        target = url("/sign-in", why=error.code, next=request.url.path if request.method == "GET" else None)
        return RedirectResponse(target, status_code=303)
    assert isinstance(error, PageError)
    return error_page(request, error.status, error.message)


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The page for an error met while handling ``request`` (the API's handlers answer a console
    address with it instead of their JSON): the user's menu if they are signed in, and ``message``."""
    visit = getattr(request.state, "visit", None)
    answer = page(request, "error.html", status, message=message, visit=visit)
    answer.headers.update(headers or {})
    return answer


def serves(path: str) -> bool:
    """Whether ``path`` is a console address (answered with pages, not the API's JSON)."""
    return path == PREFIX or path.startswith(f"{PREFIX}/")
