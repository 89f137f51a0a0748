"""The hoster's side: hashing files where they are stored, and sending only hashes to the match API.

Used by ``hashmatch hash`` (hotlines hashing their own material into lists) and ``hashmatch scan``
(hosting providers scanning their storage). Only this package reads images: the server packages never
import Pillow, imagehash or pdqhash.
"""
