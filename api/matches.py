"""A match call as the calling key may make it, shared by ``POST /v1/match`` and its NDJSON stream:
which thresholds it may lower, the match itself (with the probing guard, the notices committed, the call
audited and counted) and what each role sees of a result."""

import json
from collections.abc import Sequence
from typing import Any

from accounts import Caller
from api.deps import Services, record
from api.errors import ForbiddenField
from api.guarding import refuse_if_suspended, watch_call
from guard.shares import at_share_edge
from matching import Item, MatchOutcome, RefResult, audit_detail, match, parse_thresholds


def json_value(raw: bytes) -> object:
    """The JSON value of ``raw``; ``ValueError`` saying why it is none."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


def thresholds_for(caller: Caller, raw: object) -> dict[str, int]:
    """The request's lowered thresholds: a hoster may send none (with them, answers near an entry
    tell its distance: an oracle); a hotline lowers those of its own lists, the only ones it sees."""
    if raw is not None and caller.role == "hoster":
        raise ForbiddenField(
            "thresholds", "hoster keys match at the lists' own thresholds: send no thresholds"
        )
    return parse_thresholds(raw)


def run_match(
    found: Services, caller: Caller, action: str, items: Sequence[Item], thresholds: dict[str, int]
) -> MatchOutcome:
    """Match as the caller may (a hotline against its own lists only); for a hoster, let the probing
    guard see the call, then open the notices; commit, audit the call (in the notices' transaction if
    there are any, else through the audit writer) and count it."""
    with found.sessions() as session:
        now = found.clock.now()
        if caller.role == "hoster":
            refuse_if_suspended(found, session, caller)
        outcome = match(
            session,
            found.watcher.current,
            caller.organisation_id,
            caller.role,
            items,
            thresholds,
            now,
            found.settings.variant_thresholds,
            lambda result: watch_call(found, session, caller, items, result, now),
            at_share_edge,
        )
        if outcome.notices_created:
            record(found, caller, action, audit_detail(outcome), session)
        session.commit()  # the notices and the guard's state, or at most a key's last use
    if not outcome.notices_created:
        record(found, caller, action, audit_detail(outcome))
    _count(found, outcome)
    return outcome


def _count(found: Services, outcome: MatchOutcome) -> None:
    found.metrics.items.inc(outcome.items)
    found.metrics.notices_created.inc(outcome.notices_created)
    for result in outcome.results:
        if result.confidence is not None:
            found.metrics.matches.labels(result.confidence).inc()


def result_view(result: RefResult, caller: Caller) -> dict[str, Any]:
    """A ref's result as the caller may see it: hosters never get entries or distances, nor anything
    of a result that is not a match (``review``: for the hotline only); a hotline's results already
    cover its own lists only."""
    hidden = caller.role == "hoster" and not result.matched
    shown: dict[str, Any] = {
        "ref": result.ref,
        "matched": result.matched,
        "confidence": None if hidden else result.confidence,
        "signals": [] if hidden else result.signals,
        "notice_id": result.notice_id,
        "reupload_of": result.reupload_of,
    }
    if result.unmatchable is not None:
        shown["unmatchable"] = result.unmatchable
    if caller.role != "hoster":
        shown["matches"] = [
            {
                "list_id": hit.list_id,
                "list": hit.list_name,
                "hotline_id": hit.hotline_id,
                "entry": hit.entry_id,
                "item": hit.item,
                "type": hit.hash_type,
                "distance": hit.distance,
                "category": hit.category,
                "variant": hit.variant,
            }
            for hit in result.hits
        ]
    return shown
