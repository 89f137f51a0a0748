"""The glance before the search for pictures inside a picture (:mod:`scanner.embedded`): most files of any
storage are plain photographs, and this tells them apart in a fraction of a millisecond."""

import numpy as np
from PIL import Image

from scanner.lines import STEP, along_rows, seams

GLANCE_SIDE = 128
"""The glance reads the image reduced to at most this many pixels a side, by one factor on both axes
unless a side would keep fewer than :data:`GLANCE_SHORT` (a long screenshot: its width keeps that much
detail, its length is still reduced to :data:`GLANCE_SIDE`); it is worth a look with..."""
GLANCE_SHORT = 32
CHROME_RUN = 8
CHROME = 0.1
"""...this share of its pixels in runs of more than :data:`CHROME_RUN` equal levels across or down
(screenshots of the quality set: 0.2 and more; photographs, textures: about 0.01)..."""
GLANCE_SEAM = 0.3
"""...or a seam standing out this much (:data:`scanner.lines.SEAM_CONTRAST`) from the lines beside it."""


def worth_a_look(image: Image.Image) -> bool:
    """The gate, on a thumbnail of at most :data:`GLANCE_SIDE` pixels a side (a fraction of a
    millisecond): chrome, a page or a margin shows as runs of exactly equal levels (:data:`CHROME`),
    a collage, a caption band or a padding as a seam (:data:`GLANCE_SEAM`, anywhere). A photograph
    has neither: its noise and its light's gradients change the level every few pixels even on a
    wall or a sky, and nothing crosses it whole as a seam does."""
    factor = -(-max(image.size) // GLANCE_SIDE)
    across, down = (min(factor, -(-side // GLANCE_SHORT)) for side in image.size)
    pixels = np.asarray((image.reduce((across, down)) if factor > 1 else image).convert("L"), dtype=np.int16)
    for lines in (pixels, pixels.T):
        if lines.shape[1] <= CHROME_RUN:  # too short to hold a run
            continue
        equal = along_rows(lines[:, 1:] == lines[:, :-1], np.int16)
        if np.mean(equal[:, CHROME_RUN:] - equal[:, :-CHROME_RUN] == CHROME_RUN) >= CHROME:
            return True
    for lines in (pixels, pixels.T):
        steps = along_rows(np.abs(lines[2:] - lines[:-2]) >= STEP, np.int16)
        if seams(steps, 0, steps.shape[0], 0, steps.shape[1] - 1, GLANCE_SEAM, part=0):
            return True
    return False
