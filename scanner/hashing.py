"""Hashes of one file: cryptographic hashes of its bytes, perceptual hashes of its image.

Pure functions. PDQ comes from ``pdqhash``, which compiles Meta's reference C++; the image is fed to it
as python-threatexchange does (RGB array, luma computed by the reference code), and the 256 bits are
written as the reference writes them: 64 hex digits, most significant bit first. 64-bit hashes are
imagehash's ``str()``, the encoding of imagehash >= 4.0.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, ImageOps

from matcher import get_hash_type
from scanner.errors import ScannerError
from scanner.pdqturns import pdq_turns

IMAGE_TYPES = ("pdq", "phash", "dhash", "ahash", "whash")
"""Perceptual hashes, made from the decoded image."""
FILE_TYPES = ("md5", "sha1", "sha256")
"""Cryptographic hashes, made from the file's bytes: every readable file gets them."""
VIDEO_TYPES = ("vpdq",)
"""Made from a video's frames (:mod:`scanner.video`)."""
CHUNK = 1 << 20


class CannotCompute(ScannerError, ValueError):
    """A registered hash type this project cannot compute."""


_IMAGEHASH: dict[str, Callable[[Image.Image], imagehash.ImageHash]] = {
    "phash": imagehash.phash,
    "dhash": imagehash.dhash,
    "ahash": imagehash.average_hash,
    "whash": imagehash.whash,
}
_REDUCED = {"phash": (32, 32), "dhash": (9, 8), "ahash": (8, 8)}
"""The size imagehash first reduces the gray image to (with LANCZOS) for these types. Reduced once, the
image gives the same hash (Pillow returns a copy when asked for the size an image has), and its mirror
gives the mirrored image's hash: mirroring and LANCZOS reduction commute exactly in Pillow
(tests/test_hashing.py checks it), so the mirrored variant costs no second reduction of the image."""


@dataclass(frozen=True)
class Hash:
    """One hash: its type name, lowercase hex, PDQ's quality (0-100, None for other types), whether
    it is a query variant (a flipped or rotated copy's hash, not the file as stored), and on the list
    side the label of the transformed copy it hashes (``crop5``: :mod:`scanner.variants`)."""

    type: str
    hash: str
    quality: int | None = None
    variant: bool = False
    label: str | None = None


LICENSED_TYPES = ("photodna",)
"""Registered (lists hold them, the match API takes them) but not computed here: the algorithm is
licensed. A hoster with a licence sends the values it computes itself to the match API."""


def check_types(names: Sequence[str]) -> tuple[str, ...]:
    """The hash type names in ``names``, validated against the registry, in the order given, once each;
    a licensed type is refused (:class:`CannotCompute`)."""
    found = tuple(dict.fromkeys(get_hash_type(name).name for name in names))
    for name in found:
        if name in LICENSED_TYPES:
            raise CannotCompute(
                f"{name} cannot be computed by hashmatch (the algorithm is licensed): compute it under "
                f"your licence and send the values to the match API (POST /v1/match)"
            )
    return found


def file_hashes(path: Path, types: Sequence[str]) -> list[Hash]:
    """The cryptographic hashes among ``types`` of the bytes of ``path``, read once in chunks."""
    if not any(name in FILE_TYPES for name in types):
        return []
    with path.open("rb") as stream:
        return digests_of(iter(lambda: stream.read(CHUNK), b""), types)


def digests_of(chunks: Iterable[bytes], types: Sequence[str]) -> list[Hash]:
    """The cryptographic hashes among ``types`` of the bytes in ``chunks`` (all of them are consumed)."""
    digests = {name: hashlib.new(name) for name in types if name in FILE_TYPES}
    for chunk in chunks:
        for digest in digests.values():
            digest.update(chunk)
    return [Hash(name, digest.hexdigest()) for name, digest in digests.items()]


def image_hashes(image: Image.Image, types: Sequence[str], dihedral: bool = False) -> list[Hash]:
    """The perceptual hashes among ``types`` of an RGB ``image``; with ``dihedral``, PDQ of the image
    and of its seven flipped and rotated copies (the original first), and the 64-bit hashes of its
    mirrored copy too (after the image's own): a mirrored upload, the commonest turn, then matches on
    more than PDQ alone."""
    found: list[Hash] = []
    gray = image.convert("L")  # what imagehash converts to first: once for every type
    for name in types:
        if name == "pdq":
            found.extend(pdq_dihedral(image) if dihedral else [pdq(image)])
        elif name in _IMAGEHASH:
            function = _IMAGEHASH[name]
            size = _REDUCED.get(name)
            reduced = gray if size is None else gray.resize(size, Image.Resampling.LANCZOS)
            found.append(Hash(name, _bits_hex(function(reduced).hash)))
            if dihedral:
                found.append(Hash(name, _bits_hex(function(ImageOps.mirror(reduced)).hash), variant=True))
    return found


def pdq(image: Image.Image) -> Hash:
    bits, quality = pdqhash.compute(_rgb_array(image))
    return Hash("pdq", _bits_hex(bits), int(quality))


SCALE_DRIFT = 48
"""The most bits a listed PDQ may move when its picture is halved (PDQ's default threshold): a scan
hashes copies at reduced size (draft decoding), so a PDQ past this would not match them. Measured:
photographs 4-24, text pages 20-60, fine-grained textures (a brick wall) 58-76."""


def scale_drift(image: Image.Image, listed: Hash) -> int:
    """How many bits ``listed`` (the PDQ of ``image``) is from the PDQ of ``image`` halved (a box
    filter, as the scan's reduced decoding); 0 for an image too small to halve (a side under 128)."""
    if min(image.size) < 128:
        return 0
    pdq_type = get_hash_type("pdq")
    return pdq_type.distance(pdq_type.parse(listed.hash), pdq_type.parse(pdq(image.reduce(2)).hash))


def pdq_dihedral(image: Image.Image) -> list[Hash]:
    """PDQ of the image, then rotated 90, 180, 270 degrees, flipped top-bottom, left-right, and about
    both diagonals: the reference's order, each the reference's hash of the turned image
    (:mod:`scanner.pdqturns`), in a third of the time of the reference's one-pass dihedral hashes (which
    are not: a flip moved them by up to 32 bits). All but the first are marked variants."""
    variants, quality = pdq_turns(_rgb_array(image))
    return [Hash("pdq", _bits_hex(bits), quality, variant=i > 0) for i, bits in enumerate(variants)]


def _rgb_array(image: Image.Image) -> npt.NDArray[np.uint8]:
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)


def _bits_hex(bits: npt.NDArray[np.integer] | npt.NDArray[np.bool_]) -> str:
    """Bits (most significant first, a multiple of 8) as hex digits: pdqhash's 256 bits as the
    reference's 64 digits, and an imagehash 64-bit hash as its ``str()`` (without the string of ones and
    zeros that ``str()`` builds first: that took longer than the hash)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8).ravel()).tobytes().hex()
