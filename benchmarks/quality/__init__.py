"""Matching quality: recall, false positives, cross-matches and query cost of ``hashmatch scan`` on an
evaluation set of the project's own, end to end through the real commands at the defaults.

- ``corpus``: the pictures (photographs shipped in the scikit-image and matplotlib wheels, generated
  photo-like scenes, textures, illustrations and text-heavy pages), split into known (listed) and unknown
  (never listed), and related-but-distinct pairs (tiles, shifted crops, a stereo pair);
- ``transforms``: the documented table of what happens to a picture before a hoster stores it;
- ``chrome``/``drawing``: screenshots in UI chrome and overlays drawn with Pillow;
- ``scoring``: hash, import, publish, serve, scan, and each file's outcome;
- ``distances``: each file's nearest entry of its own picture and of any other (how far a miss is, how
  close a false positive came);
- ``summary``: the tables and the JSON record.

    python -m benchmarks.quality [--quick]         # alone; in the suite: python -m benchmarks --only quality
    python -m benchmarks.quality --transforms      # the transform table
"""
