"""Generic outputs derived from a finished run's stores: network files (GEXF, node/edge tables).

Study-specific reports (the Belt and Road findings and their HTML page) live in
:mod:`brgvc.studies`.
"""
