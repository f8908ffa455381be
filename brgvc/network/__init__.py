"""The value-flow network layer (METHODS.md §5): backbones, indicators, core-periphery,
communities, roles, per-(year, draw) summaries and Gephi export.

Numpy kernels take an (n, n) weight matrix ``W`` with ``W[i, j]`` the value flowing from
source ``i`` to sink ``j`` (the diagonal is ignored); :func:`summarise_da` and
:func:`summary_to_dataset` are the xarray layer on top.
"""

from __future__ import annotations

from .backbone import (
    disparity_filter,
    disparity_pvalues,
    global_threshold,
    mean_dichotomise,
    top_k,
)
from .communities import StabilityResult, canonical_labels, louvain, modularity, stability
from .coreperiphery import CoreResult, continuous_coreness, discrete_core, symmetrised
from .graphs import (
    edge_table,
    node_table,
    to_networkx,
    write_gexf,
    write_graphml,
    write_per_year,
)
from .metrics import (
    average_path_length,
    betweenness,
    closeness,
    clustering,
    degree,
    density,
    distance_matrix,
    eigenvector,
    intra_group_share,
    pagerank,
    primacy,
    region_index,
    regional_matrix,
    strength,
    total_flow,
)
from .roles import DEFAULT_ROLE_NAMES, country_roles
from .summary import NODE_VARS, SCALAR_VARS, summarise, summarise_da, summary_to_dataset

__all__ = [
    "DEFAULT_ROLE_NAMES",
    "NODE_VARS",
    "SCALAR_VARS",
    "CoreResult",
    "StabilityResult",
    "average_path_length",
    "betweenness",
    "canonical_labels",
    "closeness",
    "clustering",
    "continuous_coreness",
    "country_roles",
    "degree",
    "density",
    "discrete_core",
    "disparity_filter",
    "disparity_pvalues",
    "distance_matrix",
    "edge_table",
    "eigenvector",
    "global_threshold",
    "intra_group_share",
    "louvain",
    "mean_dichotomise",
    "modularity",
    "node_table",
    "pagerank",
    "primacy",
    "region_index",
    "regional_matrix",
    "stability",
    "strength",
    "summarise",
    "summarise_da",
    "summary_to_dataset",
    "symmetrised",
    "to_networkx",
    "top_k",
    "total_flow",
    "write_gexf",
    "write_graphml",
    "write_per_year",
]
