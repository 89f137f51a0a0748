"""A hotline's lists: versions and counts, an import shown before it is written (the bad lines, what it
adds and removes) and written on confirmation, retracting entries, and the publish that makes changes
serve (and withdraws the notices of retracted entries) at once. Through ``indexer.owned``,
``notices.uploads`` and ``notices.publishing``, the calls the API makes."""

import hashlib
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import (
    CONSOLE,
    PREFIX,
    REFUSALS,
    PageError,
    Visit,
    in_words,
    parse_int,
    posted,
    signed_in,
    url,
)
from db.models import MAX_ID, HashList, Organisation
from indexer import owned
from indexer.errors import NotFound
from indexer.formats import detect_format
from indexer.listfile import ListFile
from indexer.lists import OWNERS, ImportResult, Mode
from indexer.versions import active_by_type
from notices.uploads import import_for

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Hotline = Annotated[Visit, Depends(signed_in(*OWNERS))]
Posted = Annotated[Visit, Depends(posted(*OWNERS))]
MODES = {"full": "Full: the file is the whole list", "delta": "Delta: add rows (and retract rows marked so)"}


def _list_id(text: str) -> int:
    return parse_int(text, "list", 0, 1, MAX_ID)


@router.get("/lists")
def lists(visit: Hotline) -> Response:
    with visit.session() as (session, organisation):
        shown = owned.own_lists(session, organisation.id)
    return visit.render("lists.html", lists=shown)


@router.get("/lists/{list_id}")
def one_list(visit: Hotline, list_id: str) -> Response:
    number = _list_id(list_id)
    with visit.session() as (session, organisation):
        try:
            hash_list = owned.own_list(session, organisation.id, number)
        except NotFound as missing:
            raise PageError(404, str(missing)) from None
        versions = list(reversed(owned.list_versions(session, hash_list)))
        counts = active_by_type(session, number)
        name, thresholds = hash_list.name, dict(hash_list.thresholds)
    return visit.render(
        "list.html",
        list_id=number,
        name=name,
        thresholds=thresholds,
        versions=versions,
        counts=counts,
        modes=MODES,
        unpublished=bool(versions) and not versions[0].served,
    )


@dataclass(frozen=True)
class Upload:
    """A list file to import and how, as the import form sends it (again with the confirmation: no
    state is kept between the check and the write)."""

    text: str
    mode: str
    source: str
    file_format: str
    allow_low_quality: bool

    def write(
        self, visit: Visit, session: Session, hash_list: HashList, *, skip_bad: bool, dry_run: bool
    ) -> tuple[ListFile, ImportResult]:
        """The file read, imported (with ``dry_run``: only checked) and audited as the API's upload is
        (:func:`notices.uploads.import_for`)."""
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        return import_for(
            session,
            hash_list,
            self.text.encode(),
            self.file_format,
            mode=cast(Mode, self.mode),
            source=self.source,
            allow_low_quality=self.allow_low_quality,
            skip_bad=skip_bad,
            dry_run=dry_run,
            error_cap=visit.found.settings.import_error_cap,
            organisation_id=visit.caller.organisation_id,
            key_id=visit.caller.key_id,
            clock=visit.found.clock,
            marks=CONSOLE,
        )


def _upload_of(visit: Visit, text: str, source: str, file_format: str) -> Upload:
    return Upload(text, visit.field("mode"), source, file_format, visit.field("allow_low_quality") == "yes")


@router.post("/lists/{list_id}/import")
def preview(visit: Posted, list_id: str) -> Response:
    """The file's line errors and what the import would change; nothing is written yet."""
    number = _list_id(list_id)
    upload = visit.upload("file")
    back = url(f"/lists/{number}")
    if upload is None:
        return visit.done(back, "Choose a list file to import.", ok=False)
    raw = upload.file.read()  # the form parser spooled it already
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return visit.done(
            back, f"{upload.filename}: not UTF-8 text (byte {bad.start}): a list is a text file", ok=False
        )
    source = upload.filename or "upload"
    shown = _upload_of(visit, text, source, visit.field("format") or detect_format(source))
    with visit.session() as (session, organisation):
        try:
            hash_list = owned.own_list(session, organisation.id, number)
            found, result = shown.write(visit, session, hash_list, skip_bad=True, dry_run=True)
        except REFUSALS as refused:
            return visit.done(back, in_words(refused), ok=False)
        session.commit()
    summary = {
        "added": dict(result.added),
        "removed": result.removed,
        "unchanged": result.unchanged,
        "duplicates": result.duplicates,
        "rows": found.valid_rows,
        "bad_lines": found.bad_lines,
        "errors": [(e.line, e.reason, e.text) for e in found.errors],
    }
    return visit.render(
        "import.html",
        list_id=number,
        upload=shown,
        summary=summary,
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


@router.post("/lists/{list_id}/import/confirm")
def confirm(visit: Posted, list_id: str) -> Response:
    """Write the import shown (the file comes back with the form)."""
    number = _list_id(list_id)
    upload = _upload_of(visit, visit.field("text"), visit.field("source"), visit.field("format"))

    def change(session: Session, organisation: Organisation) -> str:
        hash_list = owned.own_list(session, organisation.id, number)
        skip_bad = visit.field("skip_bad") == "yes"
        _, result = upload.write(visit, session, hash_list, skip_bad=skip_bad, dry_run=False)
        if not result.changed:
            return "The import changes nothing: no new version."
        version = result.version.number if result.version else "?"
        return f"Version {version} written: {sum(result.added.values())} added, {result.removed} removed."

    then = visit.publish if visit.field("publish") == "yes" else None
    return visit.act(url(f"/lists/{number}"), change, then)


@router.post("/lists/{list_id}/retract")
def retract(visit: Posted, list_id: str) -> Response:
    number = _list_id(list_id)
    text = visit.field("entries").replace(",", " ").split()
    if not text or not all(part.isdigit() and 0 < int(part) <= 2**63 for part in text):
        return visit.done(
            url(f"/lists/{number}"),
            f"entries: expected entry ids (numbers), got {visit.field('entries')!r}",
            ok=False,
        )
    ids = sorted({int(part) for part in text})

    def change(session: Session, organisation: Organisation) -> str:
        hash_list = owned.own_list(session, organisation.id, number)
        if not visit.field("reason").strip():
            raise ValueError("reason: required: say why the entries are retracted")
        made = owned.retract(session, hash_list, entry_ids=ids, reason=visit.field("reason").strip())
        detail = {"list": hash_list.id, "version": made.version.number, "removed": made.version.removed}
        visit.audit(session, "lists.retracted", detail)
        return f"Version {made.version.number}: {made.version.removed} entries retracted."

    then = visit.publish if visit.field("publish") == "yes" else None
    return visit.act(url(f"/lists/{number}"), change, then)


@router.post("/lists/{list_id}/publish")
def publish(visit: Posted, list_id: str) -> Response:
    number = _list_id(list_id)

    def change(session: Session, organisation: Organisation) -> str:
        owned.own_list(session, organisation.id, number)
        return ""

    return visit.act(url(f"/lists/{number}"), change, visit.publish)
