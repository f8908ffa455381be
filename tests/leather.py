"""The decompr "leather" example (3 countries × 3 sectors), docs/methods.md §9.

Published by B. Quast in the decompr R package (GPL-3) documentation; numbers only.
"""

import numpy as np

REGIONS = ["ARG", "TUR", "DEU"]
SECTORS = ["Agriculture", "Textile & Leather", "Transport Equipment"]
Z = np.array([
    [16.1, 5.1, 1.8, 3.2, 4.3, 0.4, 3.1, 2.8, 4.9],
    [2.4, 8.0, 3.2, 0.1, 3.2, 1.6, 1.2, 3.9, 11.5],
    [0.9, 0.5, 4.0, 0.0, 0.1, 0.3, 0.0, 0.4, 0.5],
    [1.1, 1.9, 0.2, 18.0, 13.2, 6.1, 9.0, 3.1, 8.9],
    [0.3, 2.8, 0.1, 6.1, 28.1, 6.3, 2.1, 2.5, 25.6],
    [0.0, 0.1, 0.3, 4.1, 3.2, 8.9, 0.2, 0.0, 1.8],
    [1.2, 4.2, 0.3, 4.1, 1.2, 0.6, 29.0, 19.5, 17.9],
    [1.3, 1.1, 0.0, 3.2, 4.8, 2.6, 5.1, 29.1, 24.1],
    [2.1, 1.4, 3.0, 4.1, 3.1, 3.9, 11.3, 8.1, 51.3],
])
Y = np.array([
    [21.5, 6.1, 8.4], [16.2, 1.9, 5.1], [11.0, 0.5, 0.8], [7.5, 29.5, 14.2],
    [8.9, 24.9, 16.9], [1.2, 18.5, 4.9], [9.2, 17.9, 51.2], [7.9, 10.1, 38.5],
    [25.1, 35.2, 68.4],
])
X = np.array([77.7, 58.3, 19.0, 112.7, 124.6, 43.2, 156.3, 127.8, 217.0])


def cube():
    """The leather table as a canonical cube (one year, one final-demand category)."""
    from brgvc.schema import make_cube

    return make_cube(Z[None], Y[None], X[None], years=[2000], regions=REGIONS,
                     sectors=SECTORS, fd=["final"], attrs={"source": "decompr leather"})
