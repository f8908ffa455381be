"""Value-added decompositions and GVC indicators (docs/methods.md §2–§3 and §6).

Two layers, as in :mod:`brgvc.core`: numpy kernels that take an
:class:`~brgvc.core.kernels.IOSystem` (``wwz_terms``, ``kww_terms``, ``bm_terms``,
``participation_terms`` ...) and thin xarray wrappers that take a
:class:`~brgvc.core.leontief.YearSystem` and return labelled results (``wwz``, ``kww``,
``bm_source`` ...). :data:`MEASURES` declares them by name for the runner and the CLI.
"""

from brgvc.measures.borin_mancini import (
    BM_AGGREGATES,
    BM_TERMS,
    bm_sink,
    bm_source,
    bm_terms,
    extraction_output,
)
from brgvc.measures.china import (
    DEFAULT_BENCHMARKS,
    capture_efficiency,
    final_dva_rate,
    value_added_obtained,
)
from brgvc.measures.decompose import DECOMPOSE_METHODS, decompose, to_tidy
from brgvc.measures.flows import (
    gvc_income,
    gvc_income_country,
    gvc_income_sector,
    vax,
    vax_country,
    vbe,
    vby,
)
from brgvc.measures.kww import KWW_GROUPS, KWW_TERMS, WWZ_TO_KWW, kww, kww_terms, wwz_to_kww
from brgvc.measures.participation import (
    downstreamness,
    downstreamness_vector,
    gvc_position,
    hypothetical_extraction,
    hypothetical_extraction_dva,
    koopman,
    koopman_position,
    participation_terms,
    production_length,
    production_length_terms,
    upstreamness,
    upstreamness_vector,
    wwyz_participation,
)
from brgvc.measures.registry import (
    MEASURES,
    Measure,
    Output,
    get_measure,
    list_measures,
    methods_table_markdown,
    position,
    register,
)
from brgvc.measures.wwz import DECOMPR_ORDER, WWZ_GROUPS, WWZ_TERMS, wwz, wwz_groupings, wwz_terms

__all__ = [
    "BM_AGGREGATES",
    "BM_TERMS",
    "DECOMPOSE_METHODS",
    "DECOMPR_ORDER",
    "DEFAULT_BENCHMARKS",
    "KWW_GROUPS",
    "KWW_TERMS",
    "MEASURES",
    "WWZ_GROUPS",
    "WWZ_TERMS",
    "WWZ_TO_KWW",
    "Measure",
    "Output",
    "bm_sink",
    "bm_source",
    "bm_terms",
    "capture_efficiency",
    "decompose",
    "downstreamness",
    "downstreamness_vector",
    "extraction_output",
    "final_dva_rate",
    "get_measure",
    "gvc_income",
    "gvc_income_country",
    "gvc_income_sector",
    "gvc_position",
    "hypothetical_extraction",
    "hypothetical_extraction_dva",
    "koopman",
    "koopman_position",
    "kww",
    "kww_terms",
    "list_measures",
    "methods_table_markdown",
    "participation_terms",
    "position",
    "production_length",
    "production_length_terms",
    "register",
    "to_tidy",
    "upstreamness",
    "upstreamness_vector",
    "value_added_obtained",
    "vax",
    "vax_country",
    "vbe",
    "vby",
    "wwyz_participation",
    "wwz",
    "wwz_groupings",
    "wwz_terms",
    "wwz_to_kww",
]
