"""What the API does with the probing guard: show it a hoster's match call; refuse a suspended
organisation's matching, and on an escalation audit it, count it and tell the owners of the lists
concerned."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from accounts import Caller
from api.deps import Services, record
from api.errors import Suspended
from guard.escalations import described
from guard.probing import UNCAPPED, observed_answer
from guard.watching import Verdict
from matcher.codes import Codes
from matcher.video import VideoMargin
from matching import Item, RefResult, Search, by_type, perceptual_queries, query_refs
from notices.outbox import notify_organisations

SUSPENDED = (
    "this organisation's matching is suspended: its calls came near the edge of listed entries' "
    "thresholds the way a walk that rebuilds a listed hash does; the operator can lift it "
    "('hashmatch probing lift <organisation>')"
)


def refuse_if_suspended(found: Services, session: Session, caller: Caller) -> None:
    if found.probes.standing(session, caller.organisation_id) == "suspended":
        raise Suspended(SUSPENDED)


@dataclass(frozen=True)
class GuardedQueries:
    """What the probing guard sees of a call, per hash type and in the call's order: the query codes (a
    video's usable frames as PDQ codes after the PDQ items: :func:`matching.perceptual_queries`), the
    lower radius each was answered at (a variant item's type's variant threshold, which search lowers no
    further than its entries' own; the others :data:`UNCAPPED`), and whether the caller saw the query's
    caller was told for the query's file (:func:`guard.probing.observed_answer`). The guard watches each
    query at the edge it was answered at, and counts flips only between answers the caller saw."""

    codes: dict[str, Codes]
    caps: dict[str, npt.NDArray[np.int32]]
    answers: dict[str, npt.NDArray[np.int64]]
    margins: list[tuple[VideoMargin, int]]
    """Where each video item stood against the listed videos it came near, and what the caller was
    told for its file (the guard watches listed videos' share boundaries)."""


def guarded_queries(
    items: Sequence[Item], variant_thresholds: Mapping[str, int], told: Mapping[str, int], search: Search
) -> GuardedQueries:
    """A call's :class:`GuardedQueries`; ``told``: what the caller is told for each ref; ``search``:
    what the call's items matched."""
    codes = perceptual_queries(items)
    refs = query_refs(items)
    caps: dict[str, npt.NDArray[np.int32]] = {}
    for name, (typed, _) in by_type(items).items():
        cap = variant_thresholds.get(name, UNCAPPED)
        caps[name] = np.array([cap if item.variant else UNCAPPED for item in typed], np.int32)
    for name, found in codes.items():  # frames of videos: answered at their list's frame threshold
        known = caps.get(name, np.empty(0, np.int32))
        caps[name] = np.concatenate([known, np.full(found.shape[0] - known.size, UNCAPPED, np.int32)])
    answers = {name: np.array([told[ref] for ref in refs[name]], np.int64) for name in codes}
    return GuardedQueries(codes, caps, answers, [(near, told[ref]) for ref, near in search.margins])


def told_answers(results: Sequence[RefResult]) -> dict[str, int]:
    """What a caller is told for each ref of a call (:func:`guard.probing.observed_answer`): a result
    that is not a match (``review`` included) shows neither confidence nor signals."""
    return {
        result.ref: observed_answer(result.matched, result.confidence, result.signals) for result in results
    }


def watch_call(
    found: Services, session: Session, caller: Caller, items: Sequence[Item], result: Search, now: datetime
) -> None:
    """Let the probing guard see a hoster's call; on an escalation, audit it, count it and tell the
    owners of the lists concerned; refuse the call that reaches the suspension (committing only the
    guard's state and its audit record)."""
    seen = guarded_queries(items, found.settings.variant_thresholds, told_answers(result.results), result)
    matched = [(hit.entry_id, hit.hash_type) for hit in result.hits]
    verdict = found.probes.watch(
        session, caller.organisation_id, seen.codes, matched, now, seen.caps, seen.answers, seen.margins
    )
    if verdict.escalated is None:
        return
    escalate(found, session, caller, verdict, now)
    if verdict.refuse:
        session.commit()
        raise Suspended(SUSPENDED)


def escalate(found: Services, session: Session, caller: Caller, verdict: Verdict, now: datetime) -> None:
    """Audit the new standing (in the call's transaction), count it, and queue a ``probing.<level>``
    webhook event for each hotline owning one of the entries concerned (with its own entries only)."""
    owners = described(session, verdict.entries)
    detail = {"level": verdict.escalated, "probes": verdict.probes, "entries": list(verdict.entries)}
    record(found, caller, f"probing.{verdict.escalated}", detail, session)
    found.metrics.probing.labels(verdict.escalated).inc()
    notify_organisations(
        session,
        {
            owner: {
                "type": f"probing.{verdict.escalated}",
                "occurred_at": now.isoformat(),
                "organisation": caller.organisation,
                "level": verdict.escalated,
                "entries": entries,
            }
            for owner, entries in owners.items()
        },
        now,
    )
