"""Country roles (core / semi-periphery / periphery) by k-means on network features.

The classification clusters standardised per-country features (e.g. strength, coreness,
PageRank) with dask-ml, so the same code runs on a cluster when the feature table holds
every (year, draw), and names the clusters by their mean of the first feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np
import pandas as pd
from dask_ml.cluster import KMeans
from dask_ml.preprocessing import StandardScaler

__all__ = ["DEFAULT_ROLE_NAMES", "country_roles"]

#: Role names by number of roles, from the highest mean of the first feature to the lowest.
DEFAULT_ROLE_NAMES: dict[int, tuple[str, ...]] = {
    2: ("core", "periphery"),
    3: ("core", "semi-periphery", "periphery"),
}


def country_roles(
    features: pd.DataFrame,
    n_roles: int = 3,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> pd.Series:
    """Assign each country a role by k-means on its standardised network features.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per country (the index), one numeric column per feature. The **first
        column** orders the roles: the cluster with the highest mean of it is the "core".
        Use strength or coreness there.
    n_roles : int, optional
        Number of clusters, default 3.
    seed : int, optional
        ``random_state`` of dask-ml's ``KMeans`` (its k-means|| initialisation is random).
    names : sequence of str, optional
        Role names from the highest to the lowest mean of the first feature. Defaults to
        :data:`DEFAULT_ROLE_NAMES` for 2 or 3 roles; required otherwise.

    Returns
    -------
    pandas.Series
        Role name per country, indexed like ``features``, named ``"role"``.

    Raises
    ------
    ValueError
        If a feature is missing or non-finite, there are fewer countries than roles, or no
        names fit ``n_roles``.

    Notes
    -----
    Features are standardised with ``dask_ml.preprocessing.StandardScaler`` so that no
    feature dominates the Euclidean distance by its units; a constant feature is left
    centred at zero rather than divided by zero.
    """
    if names is None:
        if n_roles not in DEFAULT_ROLE_NAMES:
            raise ValueError(f"give role names for n_roles={n_roles}")
        names = DEFAULT_ROLE_NAMES[n_roles]
    names = list(names)
    if len(names) != n_roles:
        raise ValueError(f"expected {n_roles} role names, got {len(names)}")
    if features.shape[1] == 0:
        raise ValueError("features needs at least one column")
    X = features.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError("features hold NaN or infinite values")
    if X.shape[0] < n_roles:
        raise ValueError(f"{X.shape[0]} countries cannot form {n_roles} roles")

    Xd = da.from_array(X, chunks=X.shape)
    Z = StandardScaler().fit_transform(Xd)
    km = KMeans(n_clusters=n_roles, random_state=seed).fit(Z)
    cluster = np.asarray(km.labels_)

    # Name clusters by the mean of the first feature in its own units (standardising does not
    # change the order). A cluster can come back empty from k-means||; it gets no countries.
    first = X[:, 0]
    means = np.array(
        [first[cluster == k].mean() if np.any(cluster == k) else -np.inf for k in range(n_roles)]
    )
    rank = np.empty(n_roles, dtype=np.int64)
    rank[np.argsort(-means, kind="stable")] = np.arange(n_roles)
    return pd.Series(
        [names[rank[k]] for k in cluster], index=features.index, name="role", dtype=object
    )
