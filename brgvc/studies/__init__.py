"""Studies: the questions of a paper answered from a finished run's stores.

* :mod:`brgvc.studies.belt_and_road` — the four findings of Zheng et al. (2019), "The Belt and
  Road production networks and China's participation", with their HTML report.
"""
