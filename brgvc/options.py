"""Package-wide options, set globally or for a ``with`` block (as ``xarray.set_options``).

>>> import brgvc.options as bo
>>> bo.get_options()["table_format"]
'parquet'
>>> with bo.set_options(table_format="csv"):
...     bo.get_options()["table_format"]
'csv'
>>> bo.get_options()["table_format"]
'parquet'

Every key has a default, a validator and a docstring (:data:`OPTION_DOCS`); an unknown key or
an invalid value raises :class:`ValueError` naming the key. The options are plain process
state: Dask workers in other processes do not see them (a job spec carries what a task needs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

__all__ = ["OPTION_DOCS", "blas_limits", "get_options", "set_options"]


def _positive_int_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


#: Defaults of every option.
_DEFAULTS: dict[str, Any] = {
    "blas_threads": None,
    "progress": True,
    "table_format": "parquet",
    "wwz_cache": True,
    "warn_zero_output": True,
}

#: One line per option: what it does.
OPTION_DOCS: dict[str, str] = {
    "blas_threads": "BLAS threads for the linear algebra of one (year, draw) (None: leave the "
                    "BLAS default; the runner sets workers x threads = cores).",
    "progress": "Print progress lines (ingest, runs) on stderr.",
    "table_format": "Format of tidy tables written without an explicit suffix: 'parquet' or "
                    "'csv'.",
    "wwz_cache": "Compute the 16 WWZ terms once per factorised system and share them between "
                 "wwz, china_va, china_efficiency and the W3 network weight.",
    "warn_zero_output": "Warn when a table has country-sectors with zero or negative gross "
                        "output (their column of A and v are set to zero).",
}

_VALIDATORS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "blas_threads": (_positive_int_or_none, "a positive int or None"),
    "progress": (_bool, "True or False"),
    "table_format": (lambda v: v in ("parquet", "csv"), "'parquet' or 'csv'"),
    "wwz_cache": (_bool, "True or False"),
    "warn_zero_output": (_bool, "True or False"),
}

_OPTIONS: dict[str, Any] = dict(_DEFAULTS)


def get_options() -> MappingProxyType:
    """The current options (a read-only mapping; use :class:`set_options` to change them).

    Returns
    -------
    types.MappingProxyType
        ``{key: value}`` for every option of :data:`OPTION_DOCS`.
    """
    return MappingProxyType(_OPTIONS)


def _validate(kwargs: dict[str, Any]) -> None:
    for key, value in kwargs.items():
        if key not in _DEFAULTS:
            raise ValueError(
                f"unknown brgvc option {key!r}; options: {', '.join(sorted(_DEFAULTS))}"
            )
        check, expected = _VALIDATORS[key]
        if not check(value):
            raise ValueError(f"brgvc option {key}={value!r}: expected {expected}")


class set_options:  # lower case: used like a function, as xarray.set_options
    """Set options globally, or for a ``with`` block.

    Parameters
    ----------
    **kwargs
        Options of :data:`OPTION_DOCS`:

        blas_threads : int or None, default None
            BLAS threads for the linear algebra of one (year, draw).
        progress : bool, default True
            Progress lines on stderr.
        table_format : {"parquet", "csv"}, default "parquet"
            Format of tidy tables written to a path without a known suffix.
        wwz_cache : bool, default True
            Share one WWZ computation per factorised system.
        warn_zero_output : bool, default True
            Warn about country-sectors with zero or negative gross output.

    Raises
    ------
    ValueError
        For an unknown option or an invalid value (the message names it).

    Examples
    --------
    >>> from brgvc.options import set_options
    >>> with set_options(wwz_cache=False):
    ...     pass
    """

    def __init__(self, **kwargs: Any) -> None:
        _validate(kwargs)
        self._old = {k: _OPTIONS[k] for k in kwargs}
        _OPTIONS.update(kwargs)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        _OPTIONS.update(self._old)


@contextmanager
def blas_limits(threads: int | None = None) -> Iterator[None]:
    """Limit BLAS threads inside the block (``threads``, else the ``blas_threads`` option).

    Does nothing when both are None. threadpoolctl is imported only when a limit applies.
    """
    n = threads if threads is not None else _OPTIONS["blas_threads"]
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n), user_api="blas"):
        yield
