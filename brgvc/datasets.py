"""Embedded default data and named datasets.

``wiod2013``: the World Input-Output Database, 2013 release (41 regions × 35 sectors,
1995–2011, million USD, current prices), shipped inside the package as the ``wiot_YYYY.csv.gz``
conversion of the ``wiod`` R package (B. Quast and O. Reiter, GPL-3) of the data published at
wiod.org. Cite Timmer et al. (2015), Review of International Economics 23: 575–605.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from brgvc.schema import MRIOError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["EMBEDDED", "data_path", "open_dataset"]

#: Embedded datasets: name -> (format, folder inside the package).
EMBEDDED: dict[str, tuple[str, str]] = {"wiod2013": ("wiod2013", "data/wiod2013")}


def data_path(name: str = "wiod2013") -> Path:
    """Return the folder of an embedded dataset inside the installed package."""
    if name not in EMBEDDED:
        raise MRIOError(f"unknown embedded dataset {name!r}; available: {sorted(EMBEDDED)}")
    return Path(str(files("brgvc").joinpath(EMBEDDED[name][1])))


def open_dataset(
    name: str = "wiod2013",
    years: Iterable[int] | None = None,
    gross_output: str = "balanced",
    lazy: bool = True,
) -> xr.Dataset:
    """Open an embedded dataset or a cube store as a lazy canonical cube.

    Parameters
    ----------
    name : str
        An embedded dataset name (``"wiod2013"``) or the path of a cube store written by
        ``brgvc ingest``.
    years : iterable of int, optional
        Years to open; all when omitted.
    gross_output : {"balanced", "published"}
        ``"balanced"``: x = Z·1 + Y·1 and va = x − 1'Z (identities hold exactly);
        ``"published"``: the database's own output column.
    lazy : bool, optional
        For an embedded dataset: False reads the years now into numpy arrays without
        importing dask (quick one-year commands). Cube stores always open lazily.

    Returns
    -------
    xarray.Dataset
        ``Z``, ``Y``, ``x``, ``va`` (and ``x_published``), one dask chunk per year.

    Examples
    --------
    >>> ds = open_dataset("wiod2013", years=[2011])
    >>> ds.sizes["region"], ds.sizes["sector"]
    (41, 35)
    """
    # The readers (dask) and the cube store (zarr) are imported only for the source in use.
    if name in EMBEDDED:
        from brgvc.readers import open_mrio

        fmt, _ = EMBEDDED[name]
        return open_mrio(fmt, data_path(name), years=years, gross_output=gross_output,
                         lazy=lazy)
    if Path(name).exists():
        from brgvc.readers.store import open_cube

        return open_cube(name, years=years, gross_output=gross_output)
    raise MRIOError(
        f"{name!r} is neither an embedded dataset ({', '.join(sorted(EMBEDDED))}) "
        "nor an existing cube store"
    )
