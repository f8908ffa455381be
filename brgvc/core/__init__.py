"""Input-output algebra: numpy kernels (:mod:`~brgvc.core.kernels`) under a thin xarray layer.

The core never reads files, draws random numbers or talks to a cluster.
"""

from brgvc.core.kernels import IOSystem, SingularSystemError, block_columns, country_sum
from brgvc.core.leontief import (
    YearSystem,
    ZeroOutputWarning,
    gross_exports,
    leontief_inverse,
    local_inverses,
    system,
    vbe,
    vby,
)

__all__ = [
    "IOSystem",
    "SingularSystemError",
    "YearSystem",
    "ZeroOutputWarning",
    "block_columns",
    "country_sum",
    "gross_exports",
    "leontief_inverse",
    "local_inverses",
    "system",
    "vbe",
    "vby",
]
