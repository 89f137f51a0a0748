"""A list file uploaded by a key, over the API or the console: read, imported (or, as a dry run, only
checked) and audited in the caller's transaction, as :func:`notices.publishing.publish_for` does for a
publish. Here rather than in :mod:`indexer.owned` (whose read and import it calls) because it writes
the audit record."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

import audit
from audit import AuditEntry
from db.clock import Clock
from db.models import HashList
from indexer import owned
from indexer.listfile import ListFile
from indexer.lists import ImportResult, Mode


def import_for(
    session: Session,
    hash_list: HashList,
    data: bytes,
    file_format: str,
    *,
    mode: Mode,
    source: str,
    allow_low_quality: bool,
    skip_bad: bool,
    allow_empty: bool = False,
    dry_run: bool,
    error_cap: int,
    organisation_id: int,
    key_id: int | None,
    clock: Clock,
    marks: Mapping[str, Any] | None = None,
) -> tuple[ListFile, ImportResult]:
    """The file ``data`` read (:func:`indexer.owned.read_upload`) and imported as the list's next
    version (with ``dry_run``: only checked, :func:`indexer.owned.import_upload`), then audited in
    ``session`` as ``lists.import_checked`` or ``lists.imported`` with the version it made (with
    ``marks``, e.g. where it was asked). The caller commits."""
    found = owned.read_upload(
        data, file_format, mode=mode, allow_low_quality=allow_low_quality, error_cap=error_cap
    )
    result = owned.import_upload(
        session,
        hash_list,
        found,
        mode=mode,
        source=source,
        skip_bad=skip_bad,
        allow_empty=allow_empty,
        dry_run=dry_run,
    )
    made = result.version if result.changed and not dry_run else None
    detail = {
        "list": hash_list.id,
        "mode": mode,
        "dry_run": dry_run,
        "version": made.number if made else None,
    }
    action = "lists.import_checked" if dry_run else "lists.imported"
    entry = AuditEntry(action, {**detail, **(marks or {})}, clock.now(), organisation_id, key_id)
    audit.append_many(session, [entry])
    return found, result
