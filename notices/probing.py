"""Flagging probing: a client that sends many near-identical perceptual hashes may be walking a listed
hash bit by bit (REFERENCE: lists have been reconstructed through blocking systems). Per key, the last
``window`` perceptual query hashes of each type are kept in memory only (never stored), and a query
within ``near`` bits of one of them, yet not identical, counts as a probe. Crossing ``limit`` probes
within the window flags the key once per ``window`` queries; flags are for review (the audit log),
not a block: a hoster's storage holds resized copies too."""

import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes

PER_CALL = 128
"""At most this many codes of a call are looked at (its last): enough to see a walk, cheap for a batch."""
NEAR_BITS = {"pdq": 24, "phash": 6, "dhash": 6, "ahash": 4, "whash": 4}


@dataclass
class _Recent:
    codes: npt.NDArray[np.uint64]  # the remembered codes, as 64-bit words, oldest first
    probes: npt.NDArray[np.bool_]  # whether each was a probe
    seen: int = 0
    flagged_at: int = -(10**9)


@dataclass
class ProbeDetector:
    window: int = 512
    limit: int = 64
    _recent: dict[tuple[int, str], _Recent] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, key_id: int, hash_type: str, codes: Codes) -> int | None:
        """Record a call's query codes of one type; the number of probes in the window if this call
        makes the key cross the limit (once per window), else None."""
        near = NEAR_BITS.get(hash_type)
        if near is None or codes.shape[0] == 0:
            return None
        new = np.ascontiguousarray(codes[-min(self.window, PER_CALL) :]).view(np.uint64)
        with self._lock:
            recent = self._recent.get((key_id, hash_type))
            if recent is None:
                recent = _Recent(np.zeros((0, new.shape[1]), np.uint64), np.zeros(0, np.bool_))
                self._recent[(key_id, hash_type)] = recent
            before = recent.codes.shape[0]
            pool = np.concatenate([recent.codes, new])
            distances = np.bitwise_count(new[:, None, :] ^ pool[None, :, :]).sum(axis=2)
            earlier = np.arange(pool.shape[0])[None, :] < (before + np.arange(new.shape[0]))[:, None]
            probes = ((distances > 0) & (distances <= near) & earlier).any(axis=1)
            recent.codes = pool[-self.window :]
            recent.probes = np.concatenate([recent.probes, probes])[-self.window :]
            recent.seen += new.shape[0]
            count = int(recent.probes.sum())
            if count >= self.limit and recent.seen - recent.flagged_at >= self.window:
                recent.flagged_at = recent.seen
                return count
            return None
