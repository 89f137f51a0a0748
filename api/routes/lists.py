"""A hotline's own lists over the API: read them and their versions, import a file (first as a dry run
that shows its line errors), retract entries, publish (thin routes over ``indexer.owned`` and
``notices.publishing``). Another hotline's list is answered 404 like one that does not exist. Every
change is audited in the change's transaction (a publish's right after it); an import is
``notices.uploads.import_for``, the console's too."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import Services, allow, record, services
from api.errors import UnsupportedMediaType, line_errors
from api.limits import read_body, refuse_image_type
from api.list_schemas import (
    ImportOptions,
    ImportReport,
    ListsOut,
    PublishOut,
    RetractionBody,
    RetractionOut,
    VersionOut,
)
from api.openapi import error_responses
from api.publishing import publish_for, publish_view
from indexer import owned
from indexer.listfile import ListFile
from indexer.lists import ImportResult
from indexer.publishing import newest_publication
from notices.uploads import import_for

router = APIRouter(tags=["lists"])
Hotline = Annotated[Caller, Depends(allow("hotline"))]
Publisher = Annotated[Caller, Depends(allow("hotline", "admin"))]
ListName = Annotated[str, Path(min_length=1, max_length=200, description="the list's name, e.g. eokm-main")]
CONTENT_TYPES = {"text/csv": "csv", "application/x-ndjson": "ndjson", "text/plain": "plain"}
"""The list file formats (``indexer.formats.FORMATS``) by the content type an upload is sent with."""


@router.get(
    "/v1/lists",
    response_model=ListsOut,
    summary="Your lists: entries per hash type, newest version and the version the index serves",
    responses=error_responses(401, 403, 429),
)
def lists(request: Request, caller: Hotline) -> dict[str, Any]:
    found = services(request)
    with found.sessions() as session:
        summaries = owned.own_lists(session, caller.organisation_id)
        newest = newest_publication(session)
    record(found, caller, "lists.list", {"returned": len(summaries)})
    index_version = newest.version if newest is not None else None
    return {"lists": [asdict(summary) for summary in summaries], "index_version": index_version}


@router.get(
    "/v1/lists/{name}/versions",
    response_model=list[VersionOut],
    summary="The versions of one of your lists, oldest first, the served one marked",
    responses=error_responses(401, 403, 404, 422, 429),
)
def versions(request: Request, caller: Hotline, name: ListName) -> list[dict[str, Any]]:
    found = services(request)
    with found.sessions() as session:
        hash_list = owned.own_list(session, caller.organisation_id, name)
        rows = owned.list_versions(session, hash_list)
    record(found, caller, "lists.versions", {"list": hash_list.id})
    return [
        {
            **asdict(row),
            "created_at": row.created_at.isoformat(),
            "published_at": row.published_at.isoformat() if row.published_at else None,
        }
        for row in rows
    ]


@router.post(
    "/v1/lists/{name}/imports",
    response_model=ImportReport,
    summary="Import a list file (CSV, NDJSON or '<type> <hash>' lines) as the list's next version",
    description="Send the file as the body with its content type: text/csv, application/x-ndjson or "
    "text/plain. With dry_run=true nothing is written: the answer lists the file's bad lines and what "
    "the import would add and remove. A file with bad lines is refused whole (422, every line listed) "
    "unless skip_bad=true. Not served until a publish.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": "type,hash,item\npdq,f8f8...,img7\n"},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "md5 3b5d5c3712955042212316173ccf37be\n",
                },
            },
        }
    },
    responses=error_responses(401, 403, 404, 409, 413, 415, 422, 429),
)
async def import_file(
    request: Request,
    caller: Hotline,
    name: ListName,
    options: Annotated[ImportOptions, Query()],
) -> dict[str, Any]:
    found = services(request)
    file_format = _format(request.headers.get("content-type", ""))
    data = await read_body(request)
    return await run_in_threadpool(_import, found, caller, name, data, file_format, options)


@router.post(
    "/v1/lists/{name}/retractions",
    response_model=RetractionOut,
    status_code=201,
    summary="Retract entries of your list (false positives) by id or hash, as its next version",
    description="They stop matching at the next publish (publish=true: at once), which withdraws the "
    "notices resting only on them.",
    responses=error_responses(401, 403, 404, 409, 413, 422, 429),
)
def retractions(request: Request, caller: Hotline, name: ListName, body: RetractionBody) -> dict[str, Any]:
    found = services(request)
    with found.sessions.begin() as session:
        hash_list = owned.own_list(session, caller.organisation_id, name)
        made = owned.retract(
            session,
            hash_list,
            entry_ids=body.entries,
            hashes=[(h.type, h.hash) for h in body.hashes],
            reason=body.reason,
        )
        answer = {
            "name": hash_list.name,
            "version": made.version.number,
            "removed": made.version.removed,
            "entries": made.version.entries,
            "not_found": made.not_found,
            "published": None,
        }
        detail = {"list": hash_list.id, "version": made.version.number, "removed": made.version.removed}
        record(found, caller, "lists.retracted", detail, session)
    if body.publish:
        answer["published"] = publish_view(publish_for(found, caller))
    return answer


@router.post(
    "/v1/lists/publish",
    response_model=PublishOut,
    summary="Serve the newest version of your lists (an admin: of every list); others stay as served",
    description="The same publish as 'hashmatch lists publish': notices resting only on entries it "
    "stops serving are withdrawn. This server serves the new index at once, others at their next poll.",
    responses=error_responses(401, 403, 409, 429),
)
def publish(request: Request, caller: Publisher) -> dict[str, Any]:
    return publish_view(publish_for(services(request), caller))


def _format(content_type: str) -> str:
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    refuse_image_type(kind)
    if kind not in CONTENT_TYPES:
        expected = ", ".join(f"{kind} ({name})" for kind, name in CONTENT_TYPES.items())
        raise UnsupportedMediaType(f"content type {kind or 'missing'!r}: send the file as {expected}")
    return CONTENT_TYPES[kind]


def _import(
    found: Services,
    caller: Caller,
    name: str,
    data: bytes,
    file_format: str,
    options: ImportOptions,
) -> dict[str, Any]:
    with found.sessions.begin() as session:
        hash_list = owned.own_list(session, caller.organisation_id, name)
        read, result = import_for(
            session,
            hash_list,
            data,
            file_format,
            mode=options.mode,
            source=options.source or f"upload.{file_format}",
            allow_low_quality=options.allow_low_quality,
            skip_bad=options.skip_bad,
            allow_empty=options.allow_empty,
            dry_run=options.dry_run,
            error_cap=found.settings.import_error_cap,
            organisation_id=caller.organisation_id,
            key_id=caller.key_id,
            clock=found.clock,
        )
        return _report(hash_list.name, options.mode, options.dry_run, read, result)


def _report(name: str, mode: str, dry_run: bool, read: ListFile, result: ImportResult) -> dict[str, Any]:
    made = result.version if result.changed and not dry_run else None
    return {
        "name": name,
        "mode": mode,
        "dry_run": dry_run,
        "changed": result.changed,
        "version": made.number if made else None,
        "entries": None if dry_run else (result.version.entries if result.version else 0),
        "rows": read.rows,
        "bad_lines": read.bad_lines,
        "errors": [asdict(error) for error in line_errors(read.errors)],
        "added": {kind: count for kind, count in sorted(result.added.items()) if count},
        "removed": result.removed,
        "unchanged": result.unchanged,
        "duplicates": result.duplicates,
        "not_found": result.not_found,
        "low_quality": result.low_quality,
        "ignored_columns": result.ignored_columns,
    }
