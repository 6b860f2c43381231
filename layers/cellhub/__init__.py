"""Cell Segmentation Hub shared core: image I/O, geometry, morphometrics and exporters.

Coordinate convention (stated once, used everywhere): points are ``(x, y)`` in original-image
pixels, x to the right, y down, origin at the top-left *corner* of the top-left pixel. Pixel
``(row, col)`` therefore covers the unit square ``[col, col + 1] x [row, row + 1]`` and its centre
is ``(col + 0.5, row + 0.5)``. Arrays are indexed ``[row, col]`` (``[y, x]``).
"""

__version__ = "0.1.0"
