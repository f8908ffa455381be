"""Communities of the value-flow network: seeded Louvain, its stability and modularity.

Louvain runs on the undirected ``A = W + W'`` (docs/methods.md §5.4). Its result depends on the
node visiting order, which networkx shuffles with ``seed``; brgvc therefore fixes the seed
per call and reports how stable the partition is across seeds (mean pairwise NMI).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from typing import NamedTuple

import networkx as nx
import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from ._util import as_weights

__all__ = ["StabilityResult", "canonical_labels", "louvain", "modularity", "stability"]


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber a partition so that communities are numbered by their first node.

    Community 0 holds node 0, community 1 holds the lowest-numbered node outside community
    0, and so on. Two equal partitions then have equal label vectors, whatever numbering
    produced them.

    Parameters
    ----------
    labels : numpy.ndarray
        (n,) community label of each node (any hashable values).

    Returns
    -------
    numpy.ndarray
        (n,) int64 labels 0 .. n_communities - 1.
    """
    seen: dict[object, int] = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(np.asarray(labels).tolist()):
        out[i] = seen.setdefault(lab, len(seen))
    return out


def _undirected_graph(W: np.ndarray) -> nx.Graph:
    """networkx Graph of ``W + W'`` built from the upper triangle in one call."""
    a = as_weights(W)
    a = a + a.T
    n = a.shape[0]
    i, j = np.nonzero(np.triu(a, 1))
    G = nx.Graph()
    G.add_nodes_from(range(n))
    # Plain floats: networkx sums weights in Python, and numpy scalars make that 3x slower.
    G.add_weighted_edges_from(zip(i.tolist(), j.tolist(), a[i, j].tolist(), strict=True))
    return G


def louvain(W: np.ndarray, seed: int, resolution: float = 1.0) -> np.ndarray:
    """Louvain communities of ``W + W'`` (networkx ``louvain_communities``).

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    seed : int
        Seed of networkx's node shuffling; fixed so that every run is reproducible.
    resolution : float, optional
        Modularity resolution, default 1.0 (values above 1 favour smaller communities).

    Returns
    -------
    numpy.ndarray
        (n,) int64 community labels in :func:`canonical_labels` numbering.
    """
    G = _undirected_graph(W)
    n = G.number_of_nodes()
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    parts = nx.community.louvain_communities(G, weight="weight", resolution=resolution, seed=seed)
    labels = np.empty(n, dtype=np.int64)
    for k, members in enumerate(parts):
        labels[list(members)] = k
    return canonical_labels(labels)


class StabilityResult(NamedTuple):
    """Result of :func:`stability`.

    Attributes
    ----------
    nmi : float
        Mean normalised mutual information over all pairs of seeds (1 = identical
        partitions every time); NaN with fewer than two seeds.
    labels : numpy.ndarray
        (n,) the modal partition: the one found by the most seeds (on ties, the one whose
        first occurrence comes first).
    share : float
        Share of seeds that found the modal partition.
    """

    nmi: float
    labels: np.ndarray
    share: float


def stability(
    W: np.ndarray, seeds: Iterable[int] = range(20), resolution: float = 1.0
) -> StabilityResult:
    """Stability of the Louvain partition across seeds.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    seeds : iterable of int, optional
        Seeds to run; default ``range(20)``.
    resolution : float, optional
        Modularity resolution passed to :func:`louvain`.

    Returns
    -------
    StabilityResult
        Mean pairwise NMI (arithmetic normalisation, sklearn's default), the modal partition
        and its share.
    """
    a = as_weights(W)
    runs = [louvain(a, seed=s, resolution=resolution) for s in seeds]
    if not runs:
        raise ValueError("stability needs at least one seed")
    counts = Counter(tuple(r.tolist()) for r in runs)
    # Counter keeps first-insertion order, so most_common breaks ties by first occurrence.
    modal, hits = counts.most_common(1)[0]
    pairs = [normalized_mutual_info_score(x, y) for x, y in combinations(runs, 2)]
    nmi = float(np.mean(pairs)) if pairs else float("nan")
    return StabilityResult(nmi, np.array(modal, dtype=np.int64), hits / len(runs))


def modularity(
    W: np.ndarray, labels: np.ndarray, directed: bool = False, resolution: float = 1.0
) -> float:
    """Modularity of a partition of the value-flow network.

    Undirected (on ``A = W + W'``): ``Q = (1/2m) sum_ij [a_ij - gamma s_i s_j / 2m]
    delta(g_i, g_j)`` with ``2m = sum_ij a_ij``. Directed (Leicht & Newman 2008):
    ``Q_d = (1/m) sum_ij [w_ij - gamma s_i^out s_j^in / m] delta(g_i, g_j)`` with
    ``m = sum_ij w_ij``. Both agree with networkx's ``modularity`` on a Graph or DiGraph.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    labels : numpy.ndarray
        (n,) community label of each node.
    directed : bool, optional
        Use the Leicht-Newman directed form; default False.
    resolution : float, optional
        ``gamma``, default 1.

    Returns
    -------
    float
        The modularity; NaN for a network without flow.
    """
    a = as_weights(W)
    g = canonical_labels(np.asarray(labels))
    if g.shape != (a.shape[0],):
        raise ValueError(f"labels must have shape ({a.shape[0]},), got {g.shape}")
    if not directed:
        a = a + a.T
    total = a.sum()
    if total == 0:
        return float("nan")
    # Group-level sums: within-group flow and out/in strength per group.
    onehot = np.zeros((a.shape[0], int(g.max()) + 1))
    onehot[np.arange(a.shape[0]), g] = 1.0
    within = np.trace(onehot.T @ a @ onehot)
    s_out = onehot.T @ a.sum(axis=1)
    s_in = onehot.T @ a.sum(axis=0)
    return float(within / total - resolution * (s_out @ s_in) / total**2)
