"""The match service: a batch of ``{type, hash, ref}`` items against the served indexes, combined per
ref into a confidence, and a takedown notice for every matched ref of a hoster.

Confidence (signals are hash types; several items of one type for a ref count once):

- a cryptographic match (md5, sha1, sha256) is ``high``;
- two or more of pdq/phash/dhash/photodna matching entries of the same list item is ``high``, and so
  is one of them corroborated by ahash/whash on the same item;
- one of pdq/phash/dhash/photodna is ``medium`` (PhotoDNA is a perceptual signal like PDQ);
- ahash/whash alone never make a match;
- a vpdq match (a video whose frames match a listed video's at the list's frame threshold, both ways
  at the list's percentages, 80/80 by default) is ``high``;
- but an item matched on pHash/dHash only (64 bits: related pictures such as a stereo pair's two
  halves, and random codes at scale, come that close) whose PDQ or PhotoDNA entry the ref's own hash of
  that type did not match is contradicted: it counts for nothing above. A ref with only such items is
  ``review``: not matched for the hoster (no notice id, no confidence), and a hoster's call holds a notice
  in status ``review`` for the hotlines of the matched lists to confirm or dismiss (``notices.lifecycle``);
  hotlines and admins see its hits in their own calls.

Variant entries of an item (a hotline's list-side crops and turns, ``entries.variant``) are entries of
that item like any other: a crop's PDQ and its pHash on one item are two signals.

A trivial query hash (the digest of the empty file, a blank image's perceptual hash: see
:meth:`matcher.HashType.trivial`) is never searched; a ref with only such hashes is answered as not
matched with the reason, ``unmatchable``. A match counts only within its entry's list threshold and the
request's threshold. An item marked ``variant`` (a query-side transform of the file: a flipped or rotated
copy's hash) is searched at the server's variant threshold of its type where that is lower (never above
the list's); it is the same signal of the same ref as the file's own hash. Notices are
idempotent: one active notice per (hoster, ref), enforced by a unique key on the ref's digest.
Query hashes that match nothing are never stored; only counts are.
"""

from matching.items import (
    IndexNotReady,
    InvalidItems,
    InvalidThresholds,
    Item,
    ItemError,
    by_type,
    item_cost,
    parse_items,
    parse_thresholds,
    perceptual_queries,
    query_refs,
)
from matching.opening import (
    MatchOutcome,
    audit_detail,
    match,
    new_public_id,
    open_notice,
    open_notices,
    ref_digest,
)
from matching.search import Hit, RefResult, Search, confidence, search

__all__ = [
    "Hit",
    "IndexNotReady",
    "InvalidItems",
    "InvalidThresholds",
    "Item",
    "ItemError",
    "MatchOutcome",
    "RefResult",
    "Search",
    "audit_detail",
    "by_type",
    "confidence",
    "item_cost",
    "match",
    "new_public_id",
    "open_notice",
    "open_notices",
    "parse_items",
    "parse_thresholds",
    "perceptual_queries",
    "query_refs",
    "ref_digest",
    "search",
]
