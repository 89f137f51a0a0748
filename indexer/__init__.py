"""Hash lists from hotlines: import formats, versions, index build and atomic publish."""
