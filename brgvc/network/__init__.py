"""The value-flow network layer (docs/methods.md §5): edge weights, backbones, indicators,
core-periphery, communities, roles, per-(year, draw) summaries and Gephi export.

Numpy kernels take an (n, n) weight matrix ``W`` with ``W[i, j]`` the value flowing from
source ``i`` to sink ``j`` (the diagonal is ignored); :func:`summarise_da` and
:func:`summary_to_dataset` are the xarray layer on top.
"""

from __future__ import annotations

from ._util import NEGATIVE_POLICIES, clip_negative
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
from .summary import (
    BACKBONE_VARS,
    NODE_VARS,
    RANKED,
    SCALAR_VARS,
    backbone_stats,
    ranks,
    summarise,
    summarise_da,
    summary_to_dataset,
)
from .weights import REST, WEIGHTS, edge_weights, edge_weights_da, member_mask, restrict

__all__ = [
    "BACKBONE_VARS",
    "DEFAULT_ROLE_NAMES",
    "NEGATIVE_POLICIES",
    "NODE_VARS",
    "RANKED",
    "REST",
    "SCALAR_VARS",
    "WEIGHTS",
    "CoreResult",
    "StabilityResult",
    "average_path_length",
    "backbone_stats",
    "betweenness",
    "canonical_labels",
    "clip_negative",
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
    "edge_weights",
    "edge_weights_da",
    "eigenvector",
    "global_threshold",
    "intra_group_share",
    "louvain",
    "mean_dichotomise",
    "member_mask",
    "modularity",
    "node_table",
    "pagerank",
    "primacy",
    "ranks",
    "region_index",
    "regional_matrix",
    "restrict",
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
