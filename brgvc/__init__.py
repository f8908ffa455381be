"""brgvc: global value chain analysis of MRIO tables at scale.

The main API is available at the top level and imported on first use (``import brgvc`` itself
loads nothing heavy)::

    >>> import brgvc
    >>> ds = brgvc.open_dataset("wiod2013", years=[2011])        # doctest: +SKIP
    >>> kww = brgvc.decompose(ds, "kww", 2011)                    # doctest: +SKIP
    >>> job = brgvc.load_job(brgvc.default_job_path())            # doctest: +SKIP
    >>> brgvc.run_job(job, cluster="local", out="brgvc-results")  # doctest: +SKIP

Data: :func:`open_dataset` (embedded WIOD 2013 or a cube store), :func:`open_mrio` (a
database's own files), :func:`download`, :func:`validate`. Computation: :class:`YearSystem`,
:func:`decompose`, :func:`get_measure`, :func:`list_measures`. Batch runs: :func:`load_job`,
:func:`plan_job`, :func:`run_job`. Settings: :func:`set_options`, :func:`get_options`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Top-level name -> module that defines it (imported lazily, PEP 562).
_API: dict[str, str] = {
    "open_dataset": "brgvc.datasets",
    "open_mrio": "brgvc.readers",
    "download": "brgvc.readers.download",
    "validate": "brgvc.schema",
    "YearSystem": "brgvc.core",
    "decompose": "brgvc.measures.decompose",
    "get_measure": "brgvc.measures",
    "list_measures": "brgvc.measures",
    "summarise": "brgvc.draws",
    "load_job": "brgvc.runner",
    "default_job_path": "brgvc.runner",
    "plan_job": "brgvc.runner",
    "run_job": "brgvc.runner",
    "set_options": "brgvc.options",
    "get_options": "brgvc.options",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'brgvc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
