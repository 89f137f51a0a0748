"""The scanner's defaults, in a module without Pillow, httpx or numpy: the command line shows them in its
help without importing what hashes files or talks to the server."""

DEFAULT_TYPES = ("pdq", "phash", "dhash", "vpdq", "md5", "sha256")
"""The hash types ``hashmatch hash`` and ``hashmatch scan`` make unless told otherwise (vpdq of videos,
the perceptual image hashes of images)."""

MAX_ITEMS = 10_000
"""The most items the server takes in one request."""

DEFAULT_BATCH_ITEMS = 5_000
"""Hashes a scan sends per request."""

DRAFT_SIZE = 256
"""The default for reduced decoding: JPEGs are decoded at the smallest scale (1/2, 1/4, 1/8) that keeps
both sides at least this long; other images (PNG) are decoded whole, then reduced by the largest whole
factor that keeps both sides at least this long (``Image.reduce``, a box filter, as JPEG's scaled
decoding), so that hashing costs about the same for every format. PDQ, pHash and dHash all reduce the
image to 64 pixels or fewer a side, so four or more source pixels still feed each of PDQ's 64x64 cells.
On generated 1-4 MP photos PDQ moves by at most 14 bits at 256 (mean 5-8; at most 10 at 512), against a
threshold of 48 and unrelated images 90-128 apart; pHash and dHash by 0-3 (tests/test_hashing.py states
the bound for PNGs). Twice the speed of 512 (see benchmarks/scanner.py)."""

DEFAULT_REGIONS = 6
"""The most regions found inside one image that a scan hashes too: a photo in a screenshot (up to three
candidate boxes of it: :func:`scanner.embedded.find_regions`), the parts of a collage of up to four and
those boxes. At most this many times three the perceptual types more items per file, and only for
images where such regions are found."""
