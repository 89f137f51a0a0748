"""What the API does with the probing guard's verdicts: refuse a suspended organisation's matching,
and on an escalation audit it, count it and tell the owners of the lists concerned."""

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from accounts import Caller
from api.deps import Services, record
from api.errors import Suspended
from guard.escalations import described
from guard.probing import UNCAPPED
from guard.watching import Verdict
from matcher.codes import Codes
from matching import Item, by_type, perceptual_queries
from notices.webhooks import notify_organisations

SUSPENDED = (
    "this organisation's matching is suspended: its calls came near the edge of listed entries' "
    "thresholds the way a walk that rebuilds a listed hash does; the operator can lift it "
    "('hashmatch probing lift <organisation>')"
)


def refuse_if_suspended(found: Services, session: Session, caller: Caller) -> None:
    if found.probes.standing(session, caller.organisation_id) == "suspended":
        raise Suspended(SUSPENDED)


def guarded_queries(
    items: Sequence[Item], variant_thresholds: Mapping[str, int]
) -> tuple[dict[str, Codes], dict[str, npt.NDArray[np.int32]]]:
    """A call's query codes per hash type, in order (a video's usable frames as PDQ codes after the PDQ
    items: :func:`matching.perceptual_queries`), and the lower radius each was answered at: a variant
    item's type's variant threshold (search lowers it no further than its entries' own), the others none
    (:data:`UNCAPPED`). The guard watches each query at the edge it was answered at."""
    codes = perceptual_queries(items)
    caps: dict[str, npt.NDArray[np.int32]] = {}
    for name, (typed, _) in by_type(items).items():
        cap = variant_thresholds.get(name, UNCAPPED)
        caps[name] = np.array([cap if item.variant else UNCAPPED for item in typed], np.int32)
    for name, found in codes.items():  # frames of videos: answered at their list's frame threshold
        known = caps.get(name, np.empty(0, np.int32))
        caps[name] = np.concatenate([known, np.full(found.shape[0] - known.size, UNCAPPED, np.int32)])
    return codes, caps


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
