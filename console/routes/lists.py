"""A hotline's lists: versions and counts, an import shown before it is written (the bad lines, what it
adds and removes) and written on confirmation, retracting entries, and the publish that makes changes
serve (and withdraws the notices of retracted entries) at once. Through ``indexer.lists`` and
``notices.publishing``, as the CLI and the API."""

import hashlib
from typing import Annotated, cast

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import PREFIX, REFUSALS, PageError, Visit, parse_int, posted, signed_in, url
from db.models import MAX_ID, Organisation
from indexer.errors import NotFound
from indexer.formats import FORMATS, detect_format, read_list
from indexer.lists import (
    OWNERS,
    ImportPlan,
    Mode,
    active_by_type,
    apply_import,
    owned_list,
    plan_import,
    retract_entries,
)
from indexer.owned import list_versions, own_lists

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Hotline = Annotated[Visit, Depends(signed_in(*OWNERS))]
Posted = Annotated[Visit, Depends(posted(*OWNERS))]
MODES = {"full": "Full: the file is the whole list", "delta": "Delta: add rows (and retract rows marked so)"}


def _list_id(text: str) -> int:
    return parse_int(text, "list", 0, 1, MAX_ID)


@router.get("/lists")
def lists(visit: Hotline) -> Response:
    with visit.session() as (session, organisation):
        shown = own_lists(session, organisation.id)
    return visit.render("lists.html", lists=shown)


@router.get("/lists/{list_id}")
def one_list(visit: Hotline, list_id: str) -> Response:
    number = _list_id(list_id)
    with visit.session() as (session, organisation):
        try:
            hash_list = owned_list(session, organisation.id, number)
        except NotFound as missing:
            raise PageError(404, str(missing)) from None
        versions = list(reversed(list_versions(session, hash_list)))
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


def _plan(
    visit: Visit,
    session: Session,
    organisation: Organisation,
    list_id: int,
    text: str,
    mode: str,
    source: str,
    file_format: str,
) -> ImportPlan:
    """Read ``text`` as a list file and compare it with the list (nothing written)."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if file_format not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {file_format!r}")
    hash_list = owned_list(session, organisation.id, list_id)
    found = read_list(
        text.splitlines(),
        file_format,
        allow_retract=mode == "delta",
        error_cap=visit.found.settings.import_error_cap,
    )
    return plan_import(session, hash_list, found, cast(Mode, mode), source, skip_bad=True)


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
    file_format = visit.field("format") or detect_format(source)
    return _show_plan(visit, number, text, visit.field("mode"), source, file_format)


def _show_plan(visit: Visit, number: int, text: str, mode: str, source: str, file_format: str) -> Response:
    with visit.session() as (session, organisation):
        try:
            plan = _plan(visit, session, organisation, number, text, mode, source, file_format)
        except REFUSALS as refused:
            return visit.done(url(f"/lists/{number}"), str(refused), ok=False)
        found = plan.found
        summary = {
            "added": dict(plan.added),
            "removed": sum(int(ids.size) for ids in plan.removed.values()),
            "unchanged": plan.unchanged,
            "duplicates": plan.duplicates,
            "not_found": plan.not_found,
            "rows": found.valid_rows,
            "bad_lines": found.bad_lines,
            "errors": [(e.line, e.reason, e.text) for e in found.errors],
        }
    return visit.render(
        "import.html",
        list_id=number,
        text=text,
        mode=mode,
        source=source,
        file_format=file_format,
        summary=summary,
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


@router.post("/lists/{list_id}/import/confirm")
def confirm(visit: Posted, list_id: str) -> Response:
    """Write the import shown (the file comes back with the form: no state kept between the two steps)."""
    number = _list_id(list_id)
    publish_now = visit.field("publish") == "yes"

    def change(session: Session, organisation: Organisation) -> str:
        plan = _plan(
            visit,
            session,
            organisation,
            number,
            visit.field("text"),
            visit.field("mode"),
            visit.field("source"),
            visit.field("format"),
        )
        if plan.found.bad_lines and visit.field("skip_bad") != "yes":
            raise ValueError(f"{plan.found.bad_lines} bad lines: fix the file, or confirm leaving them out")
        result = apply_import(session, plan)
        visit.audit(session, "lists.imported", {"list": number, "mode": plan.mode, "removed": result.removed})
        if not result.changed:
            return "The import changes nothing: no new version."
        version = result.version.number if result.version else "?"
        return f"Version {version} written: {sum(result.added.values())} added, {result.removed} removed."

    return visit.act(url(f"/lists/{number}"), change, visit.publish if publish_now else None)


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
        owned_list(session, organisation.id, number)
        if not visit.field("reason").strip():
            raise ValueError("reason: required: say why the entries are retracted")
        version = retract_entries(session, number, ids, visit.field("reason").strip())
        visit.audit(session, "lists.retracted", {"list": number, "entries": ids})
        return f"Version {version.number}: {version.removed} entries retracted."

    then = visit.publish if visit.field("publish") == "yes" else None
    return visit.act(url(f"/lists/{number}"), change, then)


@router.post("/lists/{list_id}/publish")
def publish(visit: Posted, list_id: str) -> Response:
    number = _list_id(list_id)

    def change(session: Session, organisation: Organisation) -> str:
        owned_list(session, organisation.id, number)
        return ""

    return visit.act(url(f"/lists/{number}"), change, visit.publish)
